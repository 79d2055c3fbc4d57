-- 006_content_hash.sql — interactions.content_hash: SHA-256 of the values
-- crm-store last wrote from a record.  A message coming again with the same
-- hash is known unchanged without sending or comparing its text, and a new
-- message is copied straight into interactions.

alter table interactions add column if not exists content_hash text;

-- The few people with other addresses, found without reading the others
-- (crm-store checks every address it sees against them).
create index if not exists people_with_aliases on people (id) where other_emails <> '{}';

-- crm-store moves last_contact_at on every message: without an index on it
-- that update is HOT (no index to touch).  Sort by it with a scan.
drop index if exists people_last_contact;
