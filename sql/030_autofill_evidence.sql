-- 030_autofill_evidence.sql — what crm-autofill needs beyond 003 (issue 6):
--
-- * autofill_evidence: every value a message proposed for a field, one row
--   per (entity, field, message).  Agreement across messages, recency and
--   the distinct people behind an organisation's value are computed from
--   it, so that a run only reads the evidence of the entities it touches.
-- * provenance of human edits: a trigger on people and organisations
--   marks a field {"method": "manual"} in provenance whenever it changes
--   in a transaction that did not declare itself a crm program
--   (set_config('crm.writer', ...)).  crm-autofill never fills a field a
--   person set or emptied, and --undo only reverts a field whose
--   provenance still names the run.  A writer that sets the field's
--   provenance itself in the same UPDATE is trusted as it is.
-- * autofill_changes keeps the provenance it replaced (for --undo) and a
--   reference to a source record that is not stored (crm-autofill --stdin).

create table if not exists autofill_evidence (
	entity_type text not null check (entity_type in ('person', 'organisation')),
	entity_id bigint not null,
	field text not null,
	value text not null,
	confidence real not null check (confidence >= 0 and confidence <= 1),
	method text not null,
	seen_at timestamptz,
	source text not null,
	interaction_id bigint references interactions (id) on delete cascade,
	person_id bigint,
	run_id bigint references autofill_runs (id) on delete set null,
	created_at timestamptz not null default now(),
	primary key (entity_type, entity_id, field, source, method)
);
comment on table autofill_evidence is 'Values proposed by messages (signature, enrichment) per entity and field; source is "i:<interaction id>" or "r:<record id>" (records given on stdin); person_id is the sender, so that an organisation value can require several people.  confidence is the extraction confidence after the sender checks, before agreement and recency.';
create index if not exists autofill_evidence_interaction on autofill_evidence (interaction_id);

alter table autofill_changes add column if not exists old_provenance jsonb;
alter table autofill_changes add column if not exists source_ref text;
comment on column autofill_changes.old_provenance is 'The field''s provenance before the change, restored by crm-autofill --undo.';

create or replace function crm_mark_manual_edits() returns trigger
language plpgsql as $$
declare
	f text;
	o jsonb;
	n jsonb;
begin
	if coalesce(current_setting('crm.writer', true), '') <> '' then
		return new;
	end if;
	o := to_jsonb(old);
	n := to_jsonb(new);
	foreach f in array tg_argv loop
		if (n -> f) is distinct from (o -> f)
		    and (new.provenance -> f) is not distinct from (old.provenance -> f) then
			new.provenance := jsonb_set(coalesce(new.provenance, '{}'), array[f],
			    jsonb_build_object('method', 'manual', 'at', now(), 'by', current_user));
		end if;
	end loop;
	return new;
end $$;

create or replace trigger people_manual_edits
	before update of title, phone, mobile, linkedin_url on people
	for each row execute function crm_mark_manual_edits('title', 'phone', 'mobile', 'linkedin_url');
create or replace trigger organisations_manual_edits
	before update of website, main_phone, address, email on organisations
	for each row execute function crm_mark_manual_edits('website', 'main_phone', 'address', 'email');
