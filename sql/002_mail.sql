-- 002_mail.sql — mailboxes, their sync state, and the messages stored from
-- them (interactions) grouped in conversations (email_threads).
--
-- The natural key of a message is (account, Message-ID); a message without
-- a Message-ID is keyed by (account, record id), the SHA-256 crm-sync makes
-- of its bytes.  Both live in one generated column, natural_key, so that a
-- single ON CONFLICT target serves every record.  The sync state is keyed
-- like the records' "source" (account, kind, folder) and moves only forward
-- (cursor_seq), in the transaction that stores the messages it covers.

create table if not exists mail_accounts (
	id bigint generated always as identity primary key,
	address text not null unique,
	kind text not null check (kind in ('imap', 'gmail', 'graph', 'maildir', 'mbox')),
	settings jsonb not null default '{}',
	credentials bytea,
	credentials_updated_at timestamptz,
	owner_id bigint references users (id) on delete set null,
	active boolean not null default true,
	needs_reauth boolean not null default false,
	lease_owner text,
	lease_expires_at timestamptz,
	last_sync_at timestamptz,
	last_error text,
	last_error_at timestamptz,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
comment on table mail_accounts is 'Mailboxes to sync.  address is the "account" of the records.  settings: server, port, TLS, folders, auth kind...; credentials: AES-256-GCM blob (never plain text).  A sync claims an account by setting lease_owner/lease_expires_at under FOR UPDATE SKIP LOCKED.';
create index if not exists mail_accounts_lease on mail_accounts (lease_expires_at) where active;
create or replace trigger mail_accounts_touch before update on mail_accounts
	for each row execute function crm_touch_updated_at();

create table if not exists sync_state (
	account text not null,
	kind text not null,
	folder text not null default '',
	cursor jsonb,
	cursor_seq numeric not null default 0,
	updated_at timestamptz not null default now(),
	primary key (account, kind, folder)
);
comment on table sync_state is 'Per (account, source kind, folder): the opaque cursor of the last stored message and its monotonic cursor_seq.  crm-store advances it only when a stored record carries a greater cursor_seq, in the same transaction.  A producer that must restart (UIDVALIDITY change, expired history) resets the row itself.';

create table if not exists sync_seen (
	account text not null,
	kind text not null,
	folder text not null default '',
	item text not null,
	stored_at timestamptz not null default now(),
	primary key (account, kind, folder, item)
);
comment on table sync_seen is 'Items already stored, for sources without a cursor: Maildir unique names (crm-sync --maildir --state).  Written by crm-store in the transaction that stores the message; never deleted by an erasure, so erased mail is not synced again.';

create table if not exists email_threads (
	id text primary key,
	root_message_id text,
	subject text,
	message_count integer not null default 0,
	first_message_at timestamptz,
	last_message_at timestamptz,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);
comment on table email_threads is 'Conversations, keyed by the "thread.id" of crm-thread.  message_count and first/last dates are recomputed by crm-store from interactions.';
create index if not exists email_threads_last on email_threads (last_message_at desc);

create table if not exists interactions (
	id bigint generated always as identity primary key,
	record_id text not null,
	account text not null,
	message_id text,
	natural_key text generated always as (coalesce('m:' || message_id, 'r:' || record_id)) stored,
	in_reply_to text,
	refs jsonb,
	thread_id text references email_threads (id) on delete set null,
	date timestamptz,
	subject text,
	from_name text,
	from_email text,
	to_addrs jsonb,
	cc_addrs jsonb,
	outbound boolean not null default false,
	reply_text text,
	forwarded boolean,
	intent text,
	intent_confidence real,
	intent_detail jsonb,
	auto text,
	signature jsonb,
	entities jsonb,
	enrichment jsonb,
	route jsonb,
	assignee text,
	source jsonb,
	attachments jsonb,
	size integer,
	person_id bigint references people (id) on delete set null,
	organisation_id bigint references organisations (id) on delete set null,
	autofill_run_id bigint,
	autofilled_at timestamptz,
	stored_at timestamptz not null default now(),
	updated_at timestamptz not null default now(),
	unique (account, natural_key)
);
comment on table interactions is 'One row per message per account.  reply_text is the new text of the message (body.reply, else the whole text).  person_id is the other party: the sender of received mail, the first external recipient of sent mail (outbound).  The JSONB columns keep the stages'' keys whole: intent_detail, signature, entities, enrichment, route, source (with its cursor).  Inserted rows are queued for crm-autofill in autofill_todo.';
create index if not exists interactions_record on interactions (record_id);
create index if not exists interactions_thread on interactions (thread_id);
create index if not exists interactions_person on interactions (person_id);
create index if not exists interactions_organisation on interactions (organisation_id);
create index if not exists interactions_from on interactions (from_email);
create index if not exists interactions_date on interactions (date);
-- (autofilled_at and autofill_run_id, and the index of the interactions
-- they left to do, were replaced by autofill_todo and autofill_done: 031)
