#!/usr/bin/env bats
# crm-store against a real PostgreSQL: what is stored and linked, the
# promises (idempotent, cursors move only with what was stored, a crash or
# a lost database loses and duplicates nothing, concurrent loaders agree),
# bad input and error paths.

load helper

setup_file() {
	load pg
	pg_start
}

teardown_file() {
	load pg
	pg_stop
}

setup() {
	load pg
	DB=s$BATS_SUITE_TEST_NUMBER
	pg_fresh_db "$DB"
	crm-db -q migrate
	S=$FIX/store
	cd "$BATS_TEST_TMPDIR"
}

# synthetic records FROM..TO: 37 senders at 11 firms, 4 messages a thread,
# an IMAP-like cursor whose seq is the record number
gen() {
	awk -v a="$1" -v b="$2" -v acct="${3:-sales@valmont-am.fr}" 'BEGIN {
		for (i = a; i <= b; i++) {
			d = 1 + int(i / 86400); s = i % 86400
			printf "{\"v\":1,\"id\":\"g%d\",\"account\":\"%s\",", i, acct
			printf "\"source\":{\"kind\":\"imap\",\"folder\":\"INBOX\",\"cursor\":{\"uid\":%d},\"cursor_seq\":%d},", i, i
			printf "\"message_id\":\"g%d@gen.example\",", i
			printf "\"date\":\"2025-01-%02dT%02d:%02d:%02dZ\",", d, int(s / 3600), int(s % 3600 / 60), s % 60
			printf "\"from\":{\"name\":\"Person %d\",\"email\":\"p%d@firm%d.example.com\"},", i % 37, i % 37, i % 37 % 11
			printf "\"to\":[{\"name\":null,\"email\":\"%s\"}],", acct
			printf "\"subject\":\"subject %d\",\"text\":\"message %d\\nline two\",", int(i / 4), i
			printf "\"thread\":{\"id\":\"gt%d\",\"root_message_id\":\"g%d@gen.example\",\"depth\":%d},", int(i / 4), int(i / 4) * 4, i % 4
			printf "\"size\":%d}\n", 100 + i
		}
	}'
}

# every table crm-store writes, whole, in a stable order
dump() {
	psql -qAtX -c "select i.* from interactions i order by account, natural_key" \
	    -c "select * from people order by email" \
	    -c "select * from organisations order by domain" \
	    -c "select * from email_threads order by id" \
	    -c "select * from sync_state order by 1, 2, 3" \
	    -c "select account, kind, folder, item from sync_seen order by 1, 2, 3, 4"
}

# stop and start the suite's server (pg.bash's options)
pg_as() { (cd / && if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi); }
# fast, not immediate: this cluster runs with synchronous_commit off
pg_down() { pg_as "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; }
pg_up() {
	pg_as "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-k $PG_DIR \
	    -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
	    -c full_page_writes=off -c max_connections=50" start >/dev/null 3>&-
}

@test "stores messages, threads, people and organisations, linked" {
	run crm-store "$S/basic.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"6 records: 6 inserted, 0 updated, 0 unchanged, 0 rejected"* ]]
	[ "$(pg_q 'select count(*) from interactions')" = 6 ]
	# the reply's fields, the stages' keys kept whole
	run pg_q "select json_build_object('subject', subject, 'reply', reply_text, 'intent', intent,
	    'conf', intent_confidence, 'auto', auto, 'thread', thread_id, 'date', to_char(date at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'),
	    'outbound', outbound, 'title', signature->'fields'->>'title', 'folder', source->>'folder')
	    from interactions where message_id = 'm1@alforis.com'"
	json_eq "$output" '{"subject":"Rendez-vous fonds obligataire","reply":"Bonjour,\nPourrions-nous fixer un rendez-vous ?",
	    "intent":"meeting_request","conf":0.88,"auto":"none","thread":"t1","date":"2025-10-01T09:00:00",
	    "outbound":false,"title":"Directrice","folder":"INBOX"}'
	# people: the external ones only, lower-cased; no webmail organisation
	[ "$(pg_q "select string_agg(email, ' ' order by email) from people")" = \
	    "dalila.jibou@alforis.com jean.dupont@gmail.com marc.henry@alforis.com s.klein@banque-rhin.de" ]
	[ "$(pg_q "select string_agg(domain || '=' || name, ' ' order by domain) from organisations")" = \
	    "alforis.com=Alforis Finance banque-rhin.de=banque-rhin.de" ]
	[ "$(pg_q "select o.domain from people p join organisations o on o.id = p.organisation_id where p.email = 'marc.henry@alforis.com'")" = alforis.com ]
	[ "$(pg_q "select organisation_id is null from people where email = 'jean.dupont@gmail.com'")" = t ]
	[ "$(pg_q "select full_name from people where email = 'dalila.jibou@alforis.com'")" = "Dalila Jibou" ]
	# the sent reply is outbound and linked to the client it was sent to
	[ "$(pg_q "select outbound || ' ' || p.email || ' ' || o.domain from interactions i
	    join people p on p.id = i.person_id join organisations o on o.id = i.organisation_id
	    where i.message_id = 'm2@valmont-am.fr'")" = "true dalila.jibou@alforis.com alforis.com" ]
	# last contact: the latest message she sent or received
	[ "$(pg_q "select to_char(last_contact_at at time zone 'UTC', 'MM-DD HH24:MI') from people where email = 'dalila.jibou@alforis.com'")" = "10-02 10:30" ]
	# machines are not people, and their mail has no person
	[ "$(pg_q "select count(*) from interactions where person_id is null")" = 2 ]
	# the thread, counted
	[ "$(pg_q "select message_count || ' ' || to_char(last_message_at at time zone 'UTC', 'MM-DD') from email_threads where id = 't1'")" = "2 10-02" ]
	# nothing on stdout
	[ -z "$(crm-store -q "$S/basic.jsonl")" ]
}

@test "idempotent: a second run changes nothing, not even updated_at" {
	crm-store -q "$S/basic.jsonl"
	gen 1 300 | crm-store -q --batch 70
	before=$(dump)
	run crm-store "$S/basic.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 inserted, 0 updated, 6 unchanged"* ]]
	[[ "$output" == *"people: 0 new, 0 updated"* ]]
	run sh -c "$(declare -f gen); gen 1 300 | crm-store --batch 70"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 inserted, 0 updated, 300 unchanged"* ]]
	[ "$before" = "$(dump)" ]
}

@test "the same message in two accounts is two interactions of one person and one thread" {
	jq -c '.account = "other@valmont-am.fr" | .id = .id + "b"' "$S/basic.jsonl" >other.jsonl
	crm-store -q "$S/basic.jsonl" other.jsonl
	[ "$(pg_q "select count(*) from interactions where message_id = 'm1@alforis.com'")" = 2 ]
	[ "$(pg_q "select count(distinct person_id) from interactions where message_id = 'm1@alforis.com'")" = 1 ]
	[ "$(pg_q "select count(*) from people where email = 'dalila.jibou@alforis.com'")" = 1 ]
	[ "$(pg_q "select message_count from email_threads where id = 't1'")" = 4 ]
}

@test "a message without Message-ID is keyed by its record id: stored once, kept apart from others" {
	crm-store -q "$S/basic.jsonl"
	crm-store -q "$S/basic.jsonl"
	[ "$(pg_q "select count(*) from interactions where message_id is null")" = 1 ]
	[ "$(pg_q "select natural_key from interactions where message_id is null")" = "r:a6" ]
	jq -c 'select(.message_id == null) | .id = "a6-other" | .subject = "another one"' "$S/basic.jsonl" | crm-store -q
	[ "$(pg_q "select count(*) from interactions where message_id is null")" = 2 ]
}

@test "keys added by later stages update the row; a record without them keeps them" {
	jq -c 'select(.id == "a3") | del(.intent)' "$S/basic.jsonl" | crm-store -q
	[ "$(pg_q "select intent is null from interactions")" = t ]
	run sh -c "jq -c 'select(.id == \"a3\")' '$S/basic.jsonl' | crm-store"
	[[ "$output" == *"0 inserted, 1 updated, 0 unchanged"* ]]
	[ "$(pg_q "select intent from interactions")" = information_request ]
	run sh -c "jq -c 'select(.id == \"a3\") | del(.intent)' '$S/basic.jsonl' | crm-store"
	[[ "$output" == *"0 inserted, 0 updated, 1 unchanged"* ]]
	[ "$(pg_q "select intent from interactions")" = information_request ]
}

@test "bad records are rejected with input and line, written whole, the others stored, exit 1" {
	run crm-store --rejects rej.jsonl "$S/rejects.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"rejects.jsonl:2: "* ]]
	[[ "$output" == *"rejects.jsonl:3: record has no \"account\""* ]]
	[[ "$output" == *"rejects.jsonl:4: record has no \"id\""* ]]
	[[ "$output" == *"rejects.jsonl:5: \"date\" is not an ISO-8601 date"* ]]
	[[ "$output" == *"rejects.jsonl:6: \"thread\" is not an object"* ]]
	[[ "$output" == *"rejects.jsonl:7: \"source\" has a cursor without cursor_seq"* ]]
	[[ "$output" == *"rejects.jsonl:8: \"intent.confidence\" is not between 0 and 1"* ]]
	[[ "$output" == *"rejects.jsonl:9: "* ]]
	[[ "$output" == *"10 records: 2 inserted, 0 updated, 0 unchanged, 8 rejected"* ]]
	[ "$(wc -l <rej.jsonl)" -eq 8 ]
	grep -qx 'this is not json' rej.jsonl
	[ "$(pg_q "select string_agg(message_id, ' ' order by message_id) from interactions")" = "ok1@x.fr ok2@x.fr" ]
}

@test "a record the database refuses is rejected alone; its batch-mates are stored" {
	# crm-store cannot see this one coming: a person whose address is
	# another's alias conflicts with nothing, but a date beyond PostgreSQL's
	# range does not fit timestamptz
	{
		gen 1 5
		jq -nc '{v:1, id:"far", account:"sales@valmont-am.fr", message_id:"far@x.fr", date:"99999-01-01T00:00:00Z"}'
		gen 6 10
	} >in.jsonl
	run crm-store --batch 100 in.jsonl
	[ "$status" -eq 1 ]
	[[ "$output" == *"in.jsonl:6: "* ]]
	[ "$(pg_q 'select count(*) from interactions')" = 10 ]
	[ "$(pg_q 'select cursor_seq from sync_state')" = 10 ]
}

@test "NUL characters become U+FFFD instead of failing" {
	printf '%s\n' '{"v":1,"id":"n1","account":"a@valmont-am.fr","message_id":"nul@x.fr","subject":"a\u0000b","text":"x\u0000y","signature":{"text":"s\u0000t"}}' | crm-store -q
	[ "$(pg_q "select subject || reply_text || (signature->>'text') from interactions")" = "a�bx�ys�t" ]
}

@test "cursor rule: sync_state moves to the greatest cursor_seq stored, never back" {
	mk() { jq -nc --argjson n "$1" '{v:1, id:("c"+($n|tostring)), account:"x@valmont-am.fr", message_id:("c"+($n|tostring)+"@x.fr"),
	    source:{kind:"imap", folder:"INBOX", cursor:{uidvalidity:7, uid:$n}, cursor_seq:$n}}'; }
	{ mk 5; mk 3; mk 7; mk 6; } | crm-store -q --batch 2
	json_eq "$(pg_q "select json_build_object('c', cursor, 's', cursor_seq) from sync_state where account = 'x@valmont-am.fr' and kind = 'imap' and folder = 'INBOX'")" \
	    '{"c":{"uidvalidity":7,"uid":7},"s":7}'
	mk 4 | crm-store -q
	[ "$(pg_q 'select cursor_seq from sync_state')" = 7 ]
	# per folder, and a big sequence number (a Gmail historyId) as a string
	jq -nc '{v:1, id:"h", account:"x@valmont-am.fr", message_id:"h@x.fr",
	    source:{kind:"gmail", folder:"", cursor:{historyId:"18446744073709551615"}, cursor_seq:"18446744073709551615"}}' | crm-store -q
	[ "$(pg_q "select cursor_seq from sync_state where kind = 'gmail'")" = 18446744073709551615 ]
	[ "$(pg_q 'select count(*) from sync_state')" = 2 ]
}

@test "--dry-run counts against the database and writes nothing" {
	crm-store -q "$S/basic.jsonl"
	before=$(dump)
	run sh -c "{ cat '$S/basic.jsonl'; $(declare -f gen); gen 1 20; } | crm-store --dry-run --batch 7"
	[ "$status" -eq 0 ]
	[[ "$output" == *"26 records: 20 inserted, 0 updated, 6 unchanged"* ]]
	[[ "$output" == *"dry run"* ]]
	[ "$before" = "$(dump)" ]
}

@test "an empty database is migrated by crm-store itself; a missing newer schema fails clearly" {
	psql -d postgres -qAtc "drop database $DB" -c "create database $DB" >/dev/null
	run crm-store "$S/basic.jsonl"
	[ "$status" -eq 0 ]
	[ "$(pg_q 'select max(version) >= 5 from schema_migrations')" = t ]
	psql -d postgres -qAtc "drop database $DB" -c "create database $DB" >/dev/null
	mkdir empty
	CRM_SQL_DIR=$PWD/empty run crm-store "$S/basic.jsonl"
	[ "$status" -eq 3 ]
	[[ "$output" == *"schema is at version 0 but crm-store needs"* ]]
	[[ "$output" == *"$PWD/empty"* ]]
}

@test "database down: exit 3 with a clear message, nothing consumed, no password shown" {
	crm-store -q "$S/basic.jsonl"
	gen 1 3 | crm-store -q
	pg_down
	run sh -c "$(declare -f gen); gen 4 9 | crm-store"
	status_down=$status
	out_down=$output
	CRM_DATABASE_URL="postgresql://crm:hunter2@/$DB?host=$PG_DIR" run crm-store "$S/basic.jsonl"
	pg_up
	[ "$status_down" -eq 3 ]
	[[ "$out_down" == *"crm-store: cannot connect to the database (socket $PG_DIR, database $DB, user crm)"* ]]
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot connect"* ]]
	[[ "$output" != *hunter2* ]]
	[ "$(pg_q 'select cursor_seq from sync_state')" = 3 ]
	[ "$(pg_q 'select count(*) from interactions')" = 9 ]
}

@test "the database lost mid-run: committed batches stay, the rest is not, exit 3" {
	mkfifo in
	crm-store --batch 10 <in >out.txt 2>err.txt &
	pid=$!
	exec 7>in
	gen 1 30 >&7
	for i in $(seq 100); do
		[ "$(pg_q 'select count(*) from interactions')" = 30 ] && break
		sleep 0.1
	done
	pg_down
	gen 31 45 >&7
	exec 7>&-
	wait $pid && rc=0 || rc=$?
	pg_up
	[ "$rc" -eq 3 ]
	grep -q "lost the connection to the database" err.txt
	[ "$(pg_q 'select count(*) from interactions')" = 30 ]
	[ "$(pg_q 'select cursor_seq from sync_state')" = 30 ]
}

@test "kill -9 in the middle of a batch transaction, then a re-run: exactly the right rows" {
	gen 1 500 >all.jsonl
	# hold the sync_state table so that crm-store stops inside its third
	# batch's transaction, after inserting its interactions
	crm-store -q --batch 100 <(head -n 200 all.jsonl)
	psql -qAtX -c "begin; lock table sync_state in exclusive mode; select pg_sleep(60)" >/dev/null 2>&1 &
	locker=$!
	for i in $(seq 100); do
		[ "$(pg_q "select count(*) from pg_locks where relation = 'sync_state'::regclass and mode = 'ExclusiveLock' and granted")" = 1 ] && break
		sleep 0.05
	done
	crm-store -q --batch 100 all.jsonl 2>/dev/null &
	pid=$!
	blocked=0
	for i in $(seq 200); do
		[ "$(pg_q "select count(*) from pg_stat_activity where application_name = 'crm-store' and wait_event_type = 'Lock'")" = 1 ] &&
		    { blocked=1; break; }
		sleep 0.05
	done
	kill -9 $pid
	wait $pid || true
	pg_q "select pg_terminate_backend(pid) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()" >/dev/null
	wait $locker || true
	[ $blocked = 1 ]
	sleep 0.2
	# only the first run's 200 are there, and its cursor
	[ "$(pg_q 'select count(*) from interactions')" = 200 ]
	[ "$(pg_q 'select cursor_seq from sync_state')" = 200 ]
	run crm-store --batch 100 all.jsonl
	[ "$status" -eq 0 ]
	[[ "$output" == *"300 inserted, 0 updated, 200 unchanged"* ]]
	[ "$(pg_q 'select count(*), count(distinct message_id) from interactions')" = "500|500" ]
	[ "$(pg_q 'select cursor_seq from sync_state')" = 500 ]
	[ "$(pg_q 'select count(*) from email_threads where message_count <> (select count(*) from interactions i where i.thread_id = email_threads.id)')" = 0 ]
}

@test "concurrent runs over overlapping input agree: each message once, counts right" {
	gen 1 1200 >a.jsonl
	gen 600 1800 >b.jsonl
	gen 300 1500 >c.jsonl
	crm-store -q --batch 50 a.jsonl 2>a.err &
	p1=$!
	crm-store -q --batch 50 b.jsonl 2>b.err &
	p2=$!
	crm-store -q --batch 50 c.jsonl 2>c.err &
	p3=$!
	wait $p1
	wait $p2
	wait $p3
	[ "$(pg_q 'select count(*), count(distinct message_id) from interactions')" = "1800|1800" ]
	[ "$(pg_q 'select count(*) from email_threads where message_count <> (select count(*) from interactions i where i.thread_id = email_threads.id)')" = 0 ]
	[ "$(pg_q 'select cursor_seq from sync_state')" = 1800 ]
	[ "$(pg_q 'select count(*) from people')" = 37 ]
	[ "$(pg_q "select to_char(max(last_contact_at) at time zone 'UTC', 'DD HH24:MI:SS') from people")" = "01 00:30:00" ]
}

@test "internal domains: ours from mail_accounts, users, config and options never become people" {
	pg_q "insert into mail_accounts (address, kind) values ('desk@valmont-group.com', 'imap')" >/dev/null
	pg_q "insert into users (login, email) values ('eve', 'eve@valmont-partners.fr')" >/dev/null
	jq -nc '{v:1, id:"i1", account:"local", message_id:"i1@x",
	    from:{name:"Client", email:"client@firm.example"},
	    to:[{email:"desk@valmont-group.com"}, {email:"colleague@valmont-group.com"},
	        {email:"eve@valmont-partners.fr"}, {email:"x@ours.example"}, {email:"y@conf.example"},
	        {email:"friend@gmail.com"}]}' >i.jsonl
	printf 'internal_domains = conf.example\n' >crm.conf
	CRM_CONFIG=$PWD/crm.conf crm-store -q --internal-domain ours.example i.jsonl
	[ "$(pg_q "select string_agg(email, ' ' order by email) from people")" = "client@firm.example friend@gmail.com" ]
	[ "$(pg_q "select string_agg(domain, ' ' order by domain) from organisations")" = "firm.example" ]
}

@test "a webmail domain from the configuration makes no organisation" {
	jq -nc '{v:1, id:"w1", account:"local", message_id:"w1@x", from:{name:"A B", email:"ab@mymail.example"}}' >w.jsonl
	printf 'webmail_domains = mymail.example, other.example\n' >crm.conf
	CRM_CONFIG=$PWD/crm.conf crm-store -q w.jsonl
	[ "$(pg_q 'select count(*) from organisations')" = 0 ]
	[ "$(pg_q 'select count(*) from people')" = 1 ]
}

@test "a person's other addresses are recognised" {
	pg_q "insert into people (email, other_emails, full_name) values ('main@alforis.com', '{dalila.jibou@alforis.com}', 'D. Jibou')" >/dev/null
	crm-store -q "$S/basic.jsonl"
	[ "$(pg_q "select count(*) from people where email = 'dalila.jibou@alforis.com'")" = 0 ]
	[ "$(pg_q "select p.email from interactions i join people p on p.id = i.person_id where i.message_id = 'm1@alforis.com'")" = main@alforis.com ]
	[ "$(pg_q "select to_char(last_contact_at at time zone 'UTC', 'MM-DD') from people where email = 'main@alforis.com'")" = 10-02 ]
}

@test "large records are stored whole; an over-long line is rejected" {
	head -c 3000000 /dev/zero | tr '\0' 'a' >big.txt
	jq -nc --rawfile t big.txt '{v:1, id:"big", account:"local", message_id:"big@x", text:$t}' >big.jsonl
	run crm-store big.jsonl
	[ "$status" -eq 0 ]
	[ "$(pg_q 'select length(reply_text) from interactions')" = 3000000 ]
	run crm-store --max-line 1M big.jsonl
	[ "$status" -eq 1 ]
	[[ "$output" == *"big.jsonl:1:"* ]]
}

@test "usage errors exit 2" {
	run crm-store --batch 0
	[ "$status" -eq 2 ]
	run crm-store --no-such
	[ "$status" -eq 2 ]
	run crm-store --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
}
