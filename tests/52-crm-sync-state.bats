#!/usr/bin/env bats
# crm-sync --maildir --state: incremental local sync.  The state is the set
# of Maildir unique names that crm-store has stored (sync_seen), recorded in
# the transaction that stores each message; crm-sync skips those.

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
	DB=i$BATS_SUITE_TEST_NUMBER
	pg_fresh_db "$DB"
	crm-db -q migrate
	cd "$BATS_TEST_TMPDIR"
	mkdir -p M/cur M/new M/tmp M/.Clients/cur M/.Clients/new M/.Clients/tmp
	for i in 1 2 3; do deliver M "17000000$i.M$i.host" "$i"; done
	deliver M/.Clients "17000001.M9.host" 9
}

# deliver DIR UNIQUE N: a message in DIR/new
deliver() {
	printf 'From: Client %s <c%s@client.example>\nTo: sales@valmont-am.fr\nMessage-ID: <msg%s@client.example>\nDate: Mon, 6 Oct 2025 10:0%s:00 +0200\nSubject: message %s\n\nbody %s\n' \
	    "$3" "$3" "$3" "$(( $3 % 10 ))" "$3" "$3" >"$1/new/$2"
}

sync() { crm-sync --maildir M -r --state --account sales@valmont-am.fr "$@"; }

@test "a second run emits only mail not yet stored; flag changes and moves to cur/ do not count" {
	run sync
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
	jq_is '.source.uniq' 170000001.M1.host "$(printf '%s\n' "$output" | jq -c 'select(.message_id == "msg1@client.example")')"
	sync | crm-store -q
	[ "$(pg_q 'select count(*) from sync_seen')" = 4 ]
	[ "$(pg_q "select folder from sync_seen where item = '17000001.M9.host'")" = Clients ]
	run sync
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# the mail client reads a message: new/X becomes cur/X:2,S
	mv M/new/170000002.M2.host M/cur/170000002.M2.host:2,S
	deliver M 170000004.M4.host 4
	run sync
	[ "$(printf '%s\n' "$output" | jq -r .message_id)" = msg4@client.example ]
}

@test "crm-sync alone records nothing: the same mail comes again until it is stored" {
	[ "$(sync | wc -l)" -eq 4 ]
	[ "$(sync | wc -l)" -eq 4 ]
	[ "$(pg_q 'select count(*) from sync_seen')" = 0 ]
	# a store of part of it
	sync | head -n 2 | crm-store -q
	[ "$(sync | wc -l)" -eq 2 ]
}

@test "the state is per account" {
	sync | crm-store -q
	[ "$(crm-sync --maildir M -r --state --account other@valmont-am.fr | wc -l)" -eq 4 ]
}

@test "what crm-store did not commit comes again, and only that" {
	for i in $(seq 10 60); do deliver M "1700001$i.M$i.host" "$i"; done
	# everything rejected: nothing stored, nothing marked
	sync | crm-store -q --max-line 100 2>/dev/null || true
	[ "$(pg_q 'select count(*) from interactions')" = 0 ]
	[ "$(sync | wc -l)" -eq 55 ]
	# the pipeline cut after 30 messages
	sync | head -n 30 | crm-store -q --batch 20
	n=$(pg_q 'select count(*) from interactions')
	[ "$n" = 30 ]
	[ "$(sync | wc -l)" -eq 25 ]
	sync | crm-store -q
	[ "$(pg_q 'select count(*), count(distinct message_id) from interactions')" = "55|55" ]
	[ -z "$(sync)" ]
}

@test "erased mail is not synced again" {
	sync | crm-store -q
	pg_q "delete from interactions where message_id = 'msg1@client.example'" >/dev/null
	[ -z "$(sync)" ]
}

@test "--state needs --maildir; an unreachable database exits 3 before emitting anything" {
	run crm-sync --state --mbox /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"--state needs --maildir"* ]]
	PGHOST=/nonexistent run sync
	[ "$status" -eq 3 ]
	[[ "$output" == "crm-sync: cannot connect to the database (socket /nonexistent"* ]]
	[[ "$output" != *'"message_id"'* ]]
}
