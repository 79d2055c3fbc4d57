-- 003_autofill.sql — the CRM fills itself, people stay in control (issue 6):
-- autofill runs, suggestions waiting for review, the audit of applied
-- changes (old value, new value, provenance, run) that --undo walks back,
-- the feedback and learning tables, and the routing rules.
--
-- entity_type is 'person' or 'organisation' and entity_id the row's id;
-- field is the column name (title, phone, mobile, linkedin_url, website,
-- main_phone, address, email).  Values are text, as in the CRM columns.

create table if not exists autofill_runs (
	id bigint generated always as identity primary key,
	started_at timestamptz not null default now(),
	finished_at timestamptz,
	status text not null default 'running'
		check (status in ('running', 'done', 'failed', 'undone')),
	host text,
	pid integer,
	dry_run boolean not null default false,
	threshold real,
	max_interactions integer,
	processed integer not null default 0,
	applied integer not null default 0,
	confirmed integer not null default 0,
	suggested integer not null default 0,
	conflicts integer not null default 0,
	errors integer not null default 0,
	undone_at timestamptz,
	note text
);
comment on table autofill_runs is 'One row per crm-autofill run, with its counts; status undone after crm-autofill --undo.';
create index if not exists autofill_runs_started on autofill_runs (started_at desc);

do $$
begin
	-- (the column is gone since 031)
	if not exists (select 1 from pg_constraint where conname = 'interactions_autofill_run_fk')
	    and exists (select 1 from pg_attribute where attrelid = 'interactions'::regclass
	    and attname = 'autofill_run_id' and not attisdropped) then
		alter table interactions add constraint interactions_autofill_run_fk
			foreign key (autofill_run_id) references autofill_runs (id) on delete set null;
	end if;
end $$;

create table if not exists autofill_suggestions (
	id bigint generated always as identity primary key,
	run_id bigint references autofill_runs (id) on delete set null,
	entity_type text not null check (entity_type in ('person', 'organisation')),
	entity_id bigint not null,
	field text not null,
	value text not null,
	current_value text,
	confidence real not null check (confidence >= 0 and confidence <= 1),
	method text,
	evidence jsonb not null default '{}',
	interaction_id bigint references interactions (id) on delete set null,
	status text not null default 'pending'
		check (status in ('pending', 'approved', 'rejected', 'superseded')),
	created_at timestamptz not null default now(),
	decided_at timestamptz,
	decided_by bigint references users (id) on delete set null
);
comment on table autofill_suggestions is 'Values below the auto-apply threshold or in conflict with an existing value, waiting for a person (crm-review).  evidence: messages, agreement count, boost.';
create unique index if not exists autofill_suggestions_pending
	on autofill_suggestions (entity_type, entity_id, field, value) where status = 'pending';
create index if not exists autofill_suggestions_status on autofill_suggestions (status, created_at);
create index if not exists autofill_suggestions_entity on autofill_suggestions (entity_type, entity_id);

create table if not exists autofill_changes (
	id bigint generated always as identity primary key,
	run_id bigint references autofill_runs (id) on delete set null,
	suggestion_id bigint references autofill_suggestions (id) on delete set null,
	entity_type text not null check (entity_type in ('person', 'organisation')),
	entity_id bigint not null,
	field text not null,
	old_value text,
	new_value text,
	confidence real,
	method text,
	interaction_id bigint references interactions (id) on delete set null,
	applied_by bigint references users (id) on delete set null,
	applied_at timestamptz not null default now(),
	undone_at timestamptz,
	undo_note text
);
comment on table autofill_changes is 'Audit of every value written into the CRM by a program or an approval: old and new value, provenance (method, confidence, source interaction) and run.  --undo RUN restores old_value where the field still holds new_value.';
create index if not exists autofill_changes_run on autofill_changes (run_id);
create index if not exists autofill_changes_entity on autofill_changes (entity_type, entity_id, field);

create table if not exists ai_feedback (
	id bigint generated always as identity primary key,
	suggestion_id bigint references autofill_suggestions (id) on delete set null,
	user_id bigint references users (id) on delete set null,
	entity_type text,
	entity_id bigint,
	field text not null,
	value text,
	decision text not null check (decision in ('accept', 'reject', 'manual', 'ignore')),
	method text,
	confidence real,
	created_at timestamptz not null default now()
);
comment on table ai_feedback is 'Every human decision on a suggested value.';
create index if not exists ai_feedback_field on ai_feedback (field, method, created_at);

create table if not exists ai_accuracy_metrics (
	day date not null,
	field text not null,
	method text not null default '',
	decisions integer not null default 0,
	accepted integer not null default 0,
	rejected integer not null default 0,
	precision real generated always as
		(case when accepted + rejected > 0 then accepted::real / (accepted + rejected) end) stored,
	updated_at timestamptz not null default now(),
	primary key (day, field, method)
);
comment on table ai_accuracy_metrics is 'Precision of suggestions per day, field and method, from the review decisions.';

create table if not exists ai_user_preferences (
	id bigint generated always as identity primary key,
	user_id bigint references users (id) on delete cascade,
	team_id bigint references teams (id) on delete cascade,
	entity_type text,
	field text not null,
	value text not null,
	choice text not null check (choice in ('accept', 'reject', 'manual', 'ignore')),
	rank integer,
	confidence real,
	source text,
	created_at timestamptz not null default now(),
	expires_at timestamptz not null default now() + interval '90 days'
);
comment on table ai_user_preferences is 'Choices tracked by crm-learn; the learned boost counts past accepts of a value by the user (team as fallback).  Rows past expires_at are dropped by crm-learn expire.';
create index if not exists ai_user_preferences_user on ai_user_preferences (user_id, field, value);
create index if not exists ai_user_preferences_team on ai_user_preferences (team_id, field, value);
create index if not exists ai_user_preferences_expires on ai_user_preferences (expires_at);

create table if not exists routing_rules (
	id bigint generated always as identity primary key,
	name text not null unique,
	priority integer not null default 100,
	enabled boolean not null default true,
	match_intent text,
	match_auto text,
	match_domain text,
	match_subject text,
	match_text text,
	match_owner text,
	assignee text,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
comment on table routing_rules is 'crm-route rules: every non-null match_* must hold (subject and text are PCRE2 patterns); the enabled rule with the lowest priority wins; assignee is a user login (null: the organisation owner).';
create index if not exists routing_rules_priority on routing_rules (priority, id) where enabled;
create or replace trigger routing_rules_touch before update on routing_rules
	for each row execute function crm_touch_updated_at();
