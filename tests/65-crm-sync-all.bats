#!/usr/bin/env bats
# crm-sync --all: every active account, each under a lease, one failure
# not stopping the others, job_runs rows; leases between concurrent runs.

load helper
load remote

setup_file() {
	remote_setup
	dc_start
}

teardown_file() {
	dc_stop_all
	remote_teardown
}

setup() {
	pg_q "delete from mail_accounts; delete from sync_state; delete from job_runs" >/dev/null
}

# user NAME N: a mail user NAME with N messages and an account NAME@all
user() {
	local d=$BATS_TEST_TMPDIR/$1 i
	dc_user "$1" "pw-$1"
	mkdir -p "$d"
	for i in $(seq 1 "$2"); do
		printf 'From: c%s@%s.example\nTo: %s@firm.example\nSubject: %s %s\nMessage-ID: <%s.%s@%s.example>\n\nbody %s\n' \
		    "$i" "$1" "$1" "$1" "$i" "$i" "$1" "$1" "$i" >"$d/$i.eml"
	done
	DC_USER=$1 dc_seed "$d"/*.eml
	DC_USER=$1 DC_PASS=pw-$1 imap_account "$1@all"
}

@test "--all syncs every active account; a failing one does not stop the others" {
	DC_USER=broken DC_PASS=wrong imap_account broken@all
	dc_user broken right
	user alpha 3
	user beta 2
	crm-account add gone@all --kind imap --host h --password-file "$(secret_file p)"
	crm-account disable gone@all
	run --separate-stderr crm-sync --all
	[ "$status" -eq 3 ]
	[ "$(jq -r .account <<<"$output" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" = "alpha@all=3 beta@all=2" ]
	[[ "$stderr" == *"broken@all (imap): "*"login as broken refused"* ]]
	[[ "$stderr" == *"alpha@all (imap): 3 messages"* ]]
	[[ "$stderr" == *"beta@all (imap): 2 messages"* ]]
	[[ "$stderr" != *gone@all* ]]
	[ "$(pg_q "select account || ':' || status || ':' || (counts->>'messages') from job_runs order by account" | paste -sd' ')" = \
	    "alpha@all:ok:3 beta@all:ok:2 broken@all:failed:0" ]
	[ "$(pg_q "select count(*) from job_runs where status = 'failed' and error like '%refused%'")" = 1 ]
	[ "$(pg_q "select count(*) from mail_accounts where lease_owner is not null")" = 0 ]
	[[ "$(pg_q "select last_error from mail_accounts where address = 'broken@all'")" == *refused* ]]
	[ "$(pg_q "select last_error is null from mail_accounts where address = 'alpha@all'")" = t ]
}

@test "--limit applies per account" {
	user gamma 4
	user delta 4
	run --separate-stderr crm-sync --all --limit 3
	[ "$status" -eq 0 ]
	[ "$(jq -r .account <<<"$output" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" = "delta@all=3 gamma@all=3" ]
}

@test "an account leased by another host is left alone until its lease expires" {
	user eps 2
	user zeta 1
	pg_q "update mail_accounts set lease_owner = 'other-host:4242', lease_expires_at = now() + interval '1 hour' where address = 'eps@all'"
	run --separate-stderr crm-sync --all
	[ "$status" -eq 0 ]
	[ "$(jq -r .account <<<"$output" | sort -u | paste -sd' ')" = "zeta@all" ]
	run --separate-stderr crm-sync --imap eps@all
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"account eps@all is being synced by other-host:4242 until "* ]]
	[ "$(pg_q "select lease_owner from mail_accounts where address = 'eps@all'")" = other-host:4242 ]
	# expired: fair game
	pg_q "update mail_accounts set lease_expires_at = now() - interval '1 second' where address = 'eps@all'"
	run --separate-stderr crm-sync --imap eps@all
	[ "$status" -eq 0 ]
	[ "$(jq -r .account <<<"$output" | sort | uniq -c | awk '{print $1}')" = 2 ]
}

@test "a lease left by a killed crm-sync of this host is taken over at once" {
	user eta 2
	sleep 30 &
	dead=$!
	kill -9 "$dead"
	wait "$dead" 2>/dev/null || true
	pg_q "update mail_accounts set lease_owner = '$(hostname):$dead', lease_expires_at = now() + interval '1 hour' where address = 'eta@all'"
	run --separate-stderr crm-sync --imap eta@all
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"taking over the lease of $(hostname):$dead, a process of this host that is gone"* ]]
	[ "$(printf '%s\n' "$output" | grep -c '^{')" = 2 ]
	pg_q "update mail_accounts set lease_owner = '$(hostname):$dead', lease_expires_at = now() + interval '1 hour' where address = 'eta@all'"
	run --separate-stderr crm-sync --all
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^{')" = 2 ]
	# a live process's lease is respected
	pg_q "update mail_accounts set lease_owner = '$(hostname):$$', lease_expires_at = now() + interval '1 hour' where address = 'eta@all'"
	run --separate-stderr crm-sync --imap eta@all
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"being synced by $(hostname):$$"* ]]
}

@test "two --all runs at once share the accounts: each account is synced by exactly one of them" {
	for u in r1 r2 r3 r4 r5 r6; do user "$u" 40; done
	CRM_IMAP_BATCH=5 crm-sync --all >"$BATS_TEST_TMPDIR/a.jsonl" 2>"$BATS_TEST_TMPDIR/a.err" &
	a=$!
	CRM_IMAP_BATCH=5 crm-sync --all >"$BATS_TEST_TMPDIR/b.jsonl" 2>"$BATS_TEST_TMPDIR/b.err" &
	b=$!
	wait "$a"
	wait "$b"
	cat "$BATS_TEST_TMPDIR"/a.err "$BATS_TEST_TMPDIR"/b.err
	# every message once in the union; no account in both outputs
	[ "$(cat "$BATS_TEST_TMPDIR"/a.jsonl "$BATS_TEST_TMPDIR"/b.jsonl | wc -l)" = 240 ]
	[ "$(cat "$BATS_TEST_TMPDIR"/a.jsonl "$BATS_TEST_TMPDIR"/b.jsonl | jq -r .id | sort | uniq -d | wc -l)" = 0 ]
	both=$(comm -12 <(jq -r .account "$BATS_TEST_TMPDIR/a.jsonl" | sort -u) <(jq -r .account "$BATS_TEST_TMPDIR/b.jsonl" | sort -u))
	[ -z "$both" ]
	[ "$(pg_q "select count(*) from job_runs")" = 6 ]
	[ "$(pg_q "select count(distinct pid) from job_runs")" -ge 1 ]
}

@test "--all with no account: nothing to do, exit 0" {
	run --separate-stderr crm-sync --all
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
