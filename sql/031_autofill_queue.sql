-- 031_autofill_queue.sql — crm-autofill's work list in narrow tables of
-- its own (issue 6: thousands of interactions a second).
--
-- Until 030 an interaction waited for autofill while its autofilled_at was
-- null (a partial index listed those), and a run marked what it claimed by
-- setting autofilled_at and autofill_run_id.  That UPDATE rewrote the wide
-- row: never a HOT update (autofilled_at is in the index predicate), so a
-- new entry in each of the nine indexes of interactions, the whole row
-- written again and its page logged, for every message: most of the time
-- of a run.  Now:
--
-- * autofill_todo: the interactions still to process, one id each.  Every
--   statement that inserts interactions queues them (a statement trigger:
--   crm-store's COPY, an INSERT ... SELECT, one row typed in psql alike).
--   A run claims a batch by deleting the oldest ids it can lock (FOR UPDATE
--   SKIP LOCKED): two runs never get the same id.  To have interactions
--   processed again, insert their ids here.
-- * autofill_done: which run processed an interaction, and when (what
--   autofill_run_id and autofilled_at said; they are dropped, their values
--   carried over: processed interactions stay done, the others are queued).
--   Done is what is not in autofill_todo; this is the log.
-- * autofill_evidence loses its foreign keys.  Each was checked row by row
--   when evidence was written (two thirds of that time), and the check of
--   interaction_id locked the wide interactions row; the run is only a
--   record.  What they did on delete is done by triggers, set-based: an
--   interaction deleted (or interactions truncated) takes its queue entry,
--   its done mark and its evidence with it; a run deleted leaves its
--   evidence and done marks without run.  No program deletes either today.
--   A --stdin run locks the stored interactions it uses (FOR KEY SHARE)
--   as the foreign key did; a stored interaction being processed is held
--   by its queue entry, which the delete trigger waits for.
--
-- Safe to re-run: the carry-over only happens while the old columns exist.

create table if not exists autofill_todo (
	interaction_id bigint primary key
);
comment on table autofill_todo is 'Interactions crm-autofill has not processed yet (queued by a trigger on every insert into interactions; claimed oldest first, FOR UPDATE SKIP LOCKED, and deleted by the run that processes them).  Insert ids to have interactions processed again.';

-- A log, appended to by each claim: no unique key to check (an
-- interaction queued again is logged again), and a BRIN index, which
-- costs next to nothing to keep since ids are claimed in ascending order.
create table if not exists autofill_done (
	interaction_id bigint not null,
	run_id bigint,
	done_at timestamptz not null default now()
);
comment on table autofill_done is 'Interactions processed by crm-autofill: by which run (autofill_runs.id) and when; one row each time an interaction is processed.  Written in the transaction that claims them.';
create index if not exists autofill_done_interaction on autofill_done using brin (interaction_id);

do $$
begin
	if exists (select 1 from pg_attribute where attrelid = 'interactions'::regclass
	    and attname = 'autofilled_at' and not attisdropped) then
		insert into autofill_done (interaction_id, run_id, done_at)
			select id, autofill_run_id, autofilled_at from interactions
			where autofilled_at is not null order by id;
		insert into autofill_todo (interaction_id)
			select id from interactions where autofilled_at is null
			on conflict do nothing;
		-- (their index and foreign key go with them)
		alter table interactions drop column autofilled_at, drop column autofill_run_id;
	end if;
end $$;

comment on table interactions is 'One row per message per account.  reply_text is the new text of the message (body.reply, else the whole text).  person_id is the other party: the sender of received mail, the first external recipient of sent mail (outbound).  The JSONB columns keep the stages'' keys whole: intent_detail, signature, entities, enrichment, route, source (with its cursor).  Inserted rows are queued for crm-autofill in autofill_todo.';

-- the foreign keys of autofill_evidence, whatever their names
do $$
declare
	c text;
begin
	for c in select conname from pg_constraint
	    where conrelid = 'autofill_evidence'::regclass and contype = 'f' loop
		execute format('alter table autofill_evidence drop constraint %I', c);
	end loop;
end $$;

create or replace function crm_autofill_enqueue() returns trigger
language plpgsql as $$
begin
	insert into autofill_todo (interaction_id) select id from crm_new_interactions;
	return null;
end $$;

create or replace trigger interactions_autofill_enqueue
	after insert on interactions referencing new table as crm_new_interactions
	for each statement execute function crm_autofill_enqueue();

-- The queue entry first: a run processing one of these interactions holds
-- it, and the evidence it writes is visible (and deleted) once it is done.
create or replace function crm_autofill_forget() returns trigger
language plpgsql as $$
begin
	delete from autofill_todo where interaction_id in (select id from crm_old_interactions);
	delete from autofill_done where interaction_id in (select id from crm_old_interactions);
	delete from autofill_evidence where interaction_id in (select id from crm_old_interactions);
	return null;
end $$;

create or replace trigger interactions_autofill_forget
	after delete on interactions referencing old table as crm_old_interactions
	for each statement execute function crm_autofill_forget();

-- as TRUNCATE ... CASCADE did through the foreign key
create or replace function crm_autofill_truncate() returns trigger
language plpgsql as $$
begin
	truncate autofill_todo, autofill_done, autofill_evidence;
	return null;
end $$;

create or replace trigger interactions_autofill_truncate
	after truncate on interactions
	for each statement execute function crm_autofill_truncate();

create or replace function crm_autofill_run_deleted() returns trigger
language plpgsql as $$
begin
	update autofill_evidence set run_id = null where run_id in (select id from crm_old_runs);
	update autofill_done set run_id = null where run_id in (select id from crm_old_runs);
	return null;
end $$;

create or replace trigger autofill_runs_deleted
	after delete on autofill_runs referencing old table as crm_old_runs
	for each statement execute function crm_autofill_run_deleted();
