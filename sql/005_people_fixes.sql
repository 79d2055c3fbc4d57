-- 005_people_fixes.sql — e-mail addresses and domains must have their
-- ASCII letters in lower case, whatever the database's collation: lower()
-- under collation "C" changes ASCII letters only, as crm-store does, so a
-- non-ASCII local part (it happens in real mail) is stored as written.
-- 001 now creates these constraints; this brings older databases in line.
-- Dropping and re-adding makes it safe to re-run.

alter table users drop constraint if exists users_email_check;
alter table users add constraint users_email_check check (email = lower(email collate "C"));
alter table organisations drop constraint if exists organisations_domain_check;
alter table organisations add constraint organisations_domain_check
	check (domain = lower(domain collate "C"));
alter table people drop constraint if exists people_email_check;
alter table people add constraint people_email_check check (email = lower(email collate "C"));

-- Most people have no other address: index only those who do, so that the
-- index stays small and its pending list short (crm-store probes it for
-- every address it sees, with "other_emails <> '{}'" in the query).
drop index if exists people_other_emails;
create index if not exists people_aliases on people using gin (other_emails)
	where other_emails <> '{}';
