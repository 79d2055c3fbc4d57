-- 001_people.sql — the CRM proper: teams, users (our own staff),
-- organisations (client firms, found by e-mail domain) and people (contacts).
--
-- Every migration is idempotent: it can be re-run on a database that
-- already has it (CREATE ... IF NOT EXISTS, CREATE OR REPLACE), and the
-- runner (crm-db migrate, lib/db.c) records it in schema_migrations.
-- E-mail addresses and domains are stored with ASCII letters in lower case
-- (CHECK constraints, collation "C": other letters are left as written),
-- so equality is plain equality and uses the unique indexes.

create table if not exists schema_migrations (
	version integer primary key,
	name text not null,
	applied_at timestamptz not null default now()
);

-- updated_at maintenance for the tables people edit by hand.
create or replace function crm_touch_updated_at() returns trigger
language plpgsql as $$
begin
	if row(new.*) is distinct from row(old.*) and new.updated_at is not distinct from old.updated_at then
		new.updated_at := now();
	end if;
	return new;
end $$;

create table if not exists teams (
	id bigint generated always as identity primary key,
	name text not null unique,
	created_at timestamptz not null default now()
);
comment on table teams is 'Sales teams; preferences and routing fall back from a user to the team.';

create table if not exists users (
	id bigint generated always as identity primary key,
	login text not null unique,
	name text,
	email text unique check (email = lower(email collate "C")),
	team_id bigint references teams (id) on delete set null,
	active boolean not null default true,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
comment on table users is 'Our own staff: owners of organisations, people and mailboxes, assignees of routed mail. Their addresses never become people.';
create index if not exists users_team on users (team_id);

create table if not exists organisations (
	id bigint generated always as identity primary key,
	name text not null,
	domain text unique check (domain = lower(domain collate "C")),
	website text,
	main_phone text,
	email text,
	address text,
	country text,
	owner_id bigint references users (id) on delete set null,
	source text not null default 'manual',
	provenance jsonb not null default '{}',
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
comment on table organisations is 'Client firms.  domain is the e-mail domain people are matched on (never a webmail domain); source says who created the row (manual, import, mail).';
comment on column organisations.provenance is 'Per field: {"field": {"method", "confidence", "interaction_id", "run_id", "at"}} for values written by programs.';
create index if not exists organisations_owner on organisations (owner_id);
create index if not exists organisations_name on organisations (lower(name));

create table if not exists people (
	id bigint generated always as identity primary key,
	full_name text,
	first_name text,
	last_name text,
	email text unique check (email = lower(email collate "C")),
	other_emails text[] not null default '{}',
	title text,
	phone text,
	mobile text,
	linkedin_url text,
	address text,
	organisation_id bigint references organisations (id) on delete set null,
	owner_id bigint references users (id) on delete set null,
	last_contact_at timestamptz,
	source text not null default 'manual',
	provenance jsonb not null default '{}',
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
comment on table people is 'Contacts.  email is the main address (lower-case, unique); other_emails the other addresses of the same person.  title is the role or job title.  last_contact_at is the date of the latest stored message the person sent or received.';
create index if not exists people_organisation on people (organisation_id);
create index if not exists people_owner on people (owner_id);
create index if not exists people_aliases on people using gin (other_emails) where other_emails <> '{}';

do $$
declare t text;
begin
	foreach t in array array['users', 'organisations', 'people'] loop
		execute format('create or replace trigger %I before update on %I '
		    'for each row execute function crm_touch_updated_at()', t || '_touch', t);
	end loop;
end $$;
