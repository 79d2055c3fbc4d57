-- 004_operations.sql — running the toolkit: job runs (cron jobs, syncs),
-- the GDPR access log, and the caches with a time to live.
--
-- Cache rows are valid while expires_at > now(); expired rows are ignored
-- by readers and purged by whoever finds it convenient (an index on
-- expires_at keeps the purge cheap).  A failure is never cached.

create table if not exists job_runs (
	id bigint generated always as identity primary key,
	job text not null,
	account text,
	host text,
	pid integer,
	started_at timestamptz not null default now(),
	finished_at timestamptz,
	status text not null default 'running' check (status in ('running', 'ok', 'failed')),
	counts jsonb not null default '{}',
	error text
);
comment on table job_runs is 'One row per run of a scheduled job (sync of one account, autofill batch...), with its counts and error.';
create index if not exists job_runs_job on job_runs (job, started_at desc);

create table if not exists data_access_logs (
	id bigint generated always as identity primary key,
	at timestamptz not null default now(),
	actor text not null,
	program text,
	action text not null,
	entity_type text,
	entity_id bigint,
	detail jsonb not null default '{}'
);
comment on table data_access_logs is 'GDPR/RGPD access log: who read, exported, changed or erased which person or organisation.';
create index if not exists data_access_logs_entity on data_access_logs (entity_type, entity_id, at);
create index if not exists data_access_logs_at on data_access_logs (at);

create table if not exists llm_cache (
	key text primary key,
	task text not null,
	provider text not null,
	model text not null,
	response jsonb not null,
	created_at timestamptz not null default now(),
	expires_at timestamptz not null
);
comment on table llm_cache is 'Answers of the language-model cascade, keyed by SHA-256 of canonical JSON (task, prompt version, input), with who answered.';
create index if not exists llm_cache_expires on llm_cache (expires_at);

create table if not exists enrichment_cache (
	key text primary key,
	source text not null,
	query text,
	result jsonb not null,
	created_at timestamptz not null default now(),
	expires_at timestamptz not null
);
comment on table enrichment_cache is 'Results of enrichment look-ups (search API, web pages) per query, with a time to live.';
create index if not exists enrichment_cache_expires on enrichment_cache (expires_at);
