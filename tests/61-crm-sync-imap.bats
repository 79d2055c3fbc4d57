#!/usr/bin/env bats
# crm-sync --imap against a real Dovecot on 127.0.0.1 (tests/dovecot.bash):
# TLS verified by crm itself, LOGIN and XOAUTH2, cursors, UIDVALIDITY,
# a server that dies in the middle.  Each test has its own mail user, so
# tests do not see each other's mail.

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

# new_user NAME: a mail user NAME (password pw-NAME) and its account NAME@test
new_user() {
	dc_user "$1" "pw-$1"
	export DC_USER=$1 DC_PASS=pw-$1
}

# many N DIR: N distinct small messages in DIR
many() {
	mkdir -p "$2"
	$PY - "$1" "$2" <<'PY'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
for i in range(1, n + 1):
    body = ("Line %d of a message long enough to look like mail.\n" % i) * 20
    with open("%s/m%04d.eml" % (d, i), "w") as f:
        f.write("From: Sender %d <s%d@client.example>\nTo: sales@firm.example\n"
                "Subject: Message %d\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n"
                "Message-ID: <many%d@client.example>\n\n%s" % (i, i, i, i, body))
PY
}

@test "first sync over TLS verified with the test CA: one record per message, cursor in source" {
	new_user first
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml
	imap_account first@test
	run --separate-stderr crm-sync --imap first@test
	[ "$status" -eq 0 ]
	all_json
	[ "$(printf '%s\n' "$output" | wc -l)" = 3 ]
	uv=$(doveadm -c "$DC/dovecot.conf" mailbox status -u first uidvalidity INBOX | sed 's/.*=//')
	[ "$(jq -r .subject <<<"$output" | paste -sd'|')" = 'Quote for 40 licences|Grüße aus Köln|Re: Meeting next week' ]
	[ "$(jq -r '.from.email' <<<"$output" | paste -sd' ')" = "alice@acme.example juergen@beispiel.example bob@durand.example" ]
	[ "$(jq -c '[.source.kind, .source.account, .source.folder, .source.uid, .source.cursor.uid, .source.cursor_seq]' <<<"$output" | paste -sd' ')" = \
	    '["imap","first@test","INBOX",1,1,1] ["imap","first@test","INBOX",2,2,2] ["imap","first@test","INBOX",3,3,3]' ]
	[ "$(jq -r '.source.uidvalidity == .source.cursor.uidvalidity' <<<"$output" | sort -u)" = true ]
	[ "$(jq -r .source.uidvalidity <<<"$output" | sort -u)" = "$uv" ]
	[ "$(jq -r .account <<<"$output" | sort -u)" = first@test ]
	[[ "$stderr" == *"first@test (imap): 3 messages in"* ]]
	# job_runs row, the lease released, last_sync_at set
	[ "$(pg_q "select status || ' ' || (counts->>'messages') from job_runs where account = 'first@test'")" = "ok 3" ]
	[ "$(pg_q "select lease_owner is null and last_sync_at is not null from mail_accounts where address = 'first@test'")" = t ]
}

@test "a sync never marks mail as read (EXAMINE and BODY.PEEK)" {
	new_user peek
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml
	imap_account peek@test
	run crm-sync --imap peek@test
	[ "$status" -eq 0 ]
	run doveadm -c "$DC/dovecot.conf" fetch -u peek flags mailbox INBOX all
	[ "$status" -eq 0 ]
	[[ "$output" != *'\Seen'* ]]
}

@test "STARTTLS on the plain port, verified the same way" {
	new_user stls
	dc_seed "$REMOTE_FIX"/m1.eml
	imap_account stls@test --tls starttls --port "$DC_PORT"
	run --separate-stderr crm-sync --imap stls@test
	echo "$stderr"
	[ "$status" -eq 0 ]
	jq_is .subject 'Quote for 40 licences'
}

@test "a server certificate from an unknown CA is refused before any credential is sent" {
	new_user unknownca
	dc_seed "$REMOTE_FIX"/m1.eml
	crm-account add unknownca@test --kind imap --host localhost --port "$DC_TLSPORT" \
	    --user unknownca --password-file "$(secret_file pw-unknownca)"
	: >"$DC/dovecot.log"
	run --separate-stderr crm-sync --imap unknownca@test
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"server certificate for localhost refused: issued by an unknown certificate authority; nothing was sent"* ]]
	sleep 0.2
	! grep -q 'Login: user=<unknownca>' "$DC/dovecot.log"
	grep -q 'no auth attempts' "$DC/dovecot.log"
	[[ "$(pg_q "select last_error from mail_accounts where address = 'unknownca@test'")" == *"unknown certificate authority"* ]]
	# --cafile on the command line makes it trusted
	run --separate-stderr crm-sync --imap unknownca@test --cafile "$DC_CA"
	[ "$status" -eq 0 ]
	jq_is .subject 'Quote for 40 licences'
}

@test "a certificate for another host name is refused (127.0.0.2 is not in its names)" {
	new_user wrongname
	crm-account add wrongname@test --kind imap --host 127.0.0.2 --port "$DC_TLSPORT" \
	    --cafile "$DC_CA" --user wrongname --password-file "$(secret_file pw-wrongname)"
	run crm-sync --imap wrongname@test
	[ "$status" -eq 3 ]
	[[ "$output" == *"server certificate for 127.0.0.2 refused: issued for another host name"* ]]
	# the same through STARTTLS
	crm-account add wrongname@test --update --tls starttls --port "$DC_PORT"
	run crm-sync --imap wrongname@test
	[ "$status" -eq 3 ]
	[[ "$output" == *"issued for another host name"* ]]
}

@test "a CA bundle that cannot be read is an error, not a silent fallback" {
	new_user badca
	crm-account add badca@test --kind imap --host localhost --port "$DC_TLSPORT" \
	    --cafile /nonexistent/ca.pem --user badca --password-file "$(secret_file pw-badca)"
	run crm-sync --imap badca@test
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot load CA certificates from /nonexistent/ca.pem"* ]]
}

@test "a wrong password: exit 3 at once with the server's words, no records, no retry" {
	new_user wrongpw
	dc_seed "$REMOTE_FIX"/m1.eml
	DC_PASS=not-the-password imap_account wrongpw@test
	start=$(date +%s)
	run --separate-stderr crm-sync --imap wrongpw@test
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"wrongpw@test (imap): localhost:$DC_TLSPORT: login as wrongpw refused: Authentication failed."* ]]
	[ $(( $(date +%s) - start )) -le 3 ]
	[[ "$stderr" != *not-the-password* ]]
	[ "$(pg_q "select status from job_runs where account = 'wrongpw@test'")" = failed ]
}

@test "plain IMAP only with an account made --insecure, and it says so loudly" {
	new_user plain
	dc_seed "$REMOTE_FIX"/m1.eml
	crm-account add plain@test --kind imap --host 127.0.0.1 --port "$DC_PORT" --tls none \
	    --insecure --user plain --password-file "$(secret_file pw-plain)"
	run --separate-stderr crm-sync --imap plain@test
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"WARNING: IMAP without TLS"* ]]
	jq_is .subject 'Quote for 40 licences'
	pg_q "update mail_accounts set settings = settings - 'insecure' where address = 'plain@test'"
	run crm-sync --imap plain@test
	[ "$status" -eq 2 ]
	[[ "$output" == *"--insecure"* ]]
}

@test "XOAUTH2: the access token comes from the token endpoint; one the server refuses is refreshed once" {
	# the token endpoint lives on the mock that Dovecot asks about tokens
	dc_tokeninfo_routes | jq '. + [
	  {"method": "POST", "path": "/token", "body_contains": "refresh_token=imap-refresh",
	   "responses": [{"status": 200, "json": {"access_token": "valid-token", "expires_in": 3599,
	                  "token_type": "Bearer"}}]}]' >"$BATS_TEST_TMPDIR/routes.json"
	mock_routes "$DC_OAUTH_PORT" "$BATS_TEST_TMPDIR/routes.json"
	: >"$DC/oauth/req.log"
	dc_seed "$REMOTE_FIX"/m1.eml
	crm-account add xo@test --kind imap --host localhost --port "$DC_TLSPORT" --cafile "$DC_CA" \
	    --user test --auth oauth2 --provider google --client-id cid \
	    --token-url "http://127.0.0.1:$DC_OAUTH_PORT/token" \
	    --refresh-token-file "$(secret_file imap-refresh)"
	run --separate-stderr crm-sync --imap xo@test
	echo "$stderr"
	[ "$status" -eq 0 ]
	jq_is .subject 'Quote for 40 licences'
	grep -q 'Login: user=<test>, method=XOAUTH2' "$DC/dovecot.log"
	[ "$(jq -s '[.[] | select(.path == "/token")] | length' "$DC/oauth/req.log")" = 1 ]
	# the stored token is used again while it lives: no token request
	: >"$DC/oauth/req.log"
	run crm-sync --imap xo@test
	[ "$status" -eq 0 ]
	[ "$(jq -s '[.[] | select(.path == "/token")] | length' "$DC/oauth/req.log")" = 0 ]
	# now the server refuses it once: one refresh, one more login, success
	dc_tokeninfo_routes | jq '[{"method": "GET", "path": "/tokeninfo", "query": {"access_token": "valid-token"},
	    "responses": [{"status": 401, "json": {"error": "invalid_token"}},
	                  {"status": 200, "json": {"email": "test", "active": true, "scope": "mail"}}]}] + . + [
	  {"method": "POST", "path": "/token", "body_contains": "refresh_token=imap-refresh",
	   "responses": [{"status": 200, "json": {"access_token": "valid-token", "expires_in": 3599,
	                  "token_type": "Bearer"}}]}]' >"$BATS_TEST_TMPDIR/routes.json"
	mock_routes "$DC_OAUTH_PORT" "$BATS_TEST_TMPDIR/routes.json"
	: >"$DC/oauth/req.log"
	run --separate-stderr crm-sync --imap xo@test
	[ "$status" -eq 0 ]
	[ "$(jq -s '[.[] | select(.path == "/token")] | length' "$DC/oauth/req.log")" = 1 ]
	[ "$(jq -s '[.[] | select(.path == "/tokeninfo")] | length' "$DC/oauth/req.log")" = 2 ]
	[[ "$stderr" != *valid-token* ]]
	dc_tokeninfo_routes >"$BATS_TEST_TMPDIR/routes.json"
	mock_routes "$DC_OAUTH_PORT" "$BATS_TEST_TMPDIR/routes.json"
}

@test "XOAUTH2 with a revoked refresh token: exit 3, account marked for re-authorization" {
	{
		dc_tokeninfo_routes | jq '. + [
		  {"method": "POST", "path": "/token",
		   "responses": [{"status": 400, "json": {"error": "invalid_grant",
		                  "error_description": "Token has been expired or revoked."}}]}]'
	} >"$BATS_TEST_TMPDIR/routes.json"
	mock_routes "$DC_OAUTH_PORT" "$BATS_TEST_TMPDIR/routes.json"
	crm-account add revoked@test --kind imap --host localhost --port "$DC_TLSPORT" --cafile "$DC_CA" \
	    --user test --auth oauth2 --provider google --client-id cid \
	    --token-url "http://127.0.0.1:$DC_OAUTH_PORT/token" \
	    --refresh-token-file "$(secret_file revoked-refresh)"
	run --separate-stderr crm-sync --imap revoked@test
	echo "$stderr"
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"revoked@test must be authorized again"*"invalid_grant"*"crm-oauth authorize revoked@test"* ]]
	[[ "$stderr" != *revoked-refresh* ]]
	[ "$(pg_q "select needs_reauth from mail_accounts where address = 'revoked@test'")" = t ]
}

@test "UIDVALIDITY changed: exit 4 and nothing printed; --resync fetches the folder again" {
	new_user uv
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml
	imap_account uv@test
	uv=$(doveadm -c "$DC/dovecot.conf" mailbox status -u uv uidvalidity INBOX | sed 's/.*=//')
	# the state a stored sync leaves: both messages under the old UIDVALIDITY
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('uv@test', 'imap', 'INBOX', '{\"uidvalidity\": $uv, \"uid\": 2}', 2)"
	run --separate-stderr crm-sync --imap uv@test
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	dc_uidvalidity $((uv + 7))
	run --separate-stderr crm-sync --imap uv@test
	[ "$status" -eq 4 ]
	[ -z "$output" ]
	[[ "$stderr" == *"folder INBOX: UIDVALIDITY changed ($uv, now $((uv + 7)))"*"--resync"* ]]
	[ "$(pg_q "select cursor->>'uidvalidity' from sync_state where account = 'uv@test'")" = "$uv" ]
	run --separate-stderr crm-sync --imap uv@test --resync
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" = 2 ]
	[ "$(jq -r .source.uidvalidity <<<"$output" | sort -u)" = $((uv + 7)) ]
	[ "$(jq -r .message_id <<<"$output" | paste -sd' ')" = "m1.quote@acme.example m2.koeln@beispiel.example" ]
	[ "$(pg_q "select coalesce(cursor::text, 'null') || ' ' || cursor_seq from sync_state where account = 'uv@test'")" = "null 0" ]
}

@test "nothing new: no record, and the folder's cursor is kept current by crm-sync itself" {
	new_user same
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml
	imap_account same@test
	uv=$(doveadm -c "$DC/dovecot.conf" mailbox status -u same uidvalidity INBOX | sed 's/.*=//')
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('same@test', 'imap', 'INBOX', '{\"uidvalidity\": $uv, \"uid\": 2}', 2)"
	run --separate-stderr crm-sync --imap same@test
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"same@test (imap): 0 messages"* ]]
	[ "$(pg_q "select cursor->>'uid' from sync_state where account = 'same@test'")" = 2 ]
	[ "$(pg_q "select (cursor->>'highestmodseq')::bigint > 0 from sync_state where account = 'same@test'")" = t ]
}

@test "messages only rejected: they are reported once, and the cursor moves past them" {
	new_user rej
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/notmail.eml
	imap_account rej@test
	uv=$(doveadm -c "$DC/dovecot.conf" mailbox status -u rej uidvalidity INBOX | sed 's/.*=//')
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('rej@test', 'imap', 'INBOX', '{\"uidvalidity\": $uv, \"uid\": 1}', 1)"
	run --separate-stderr crm-sync --imap rej@test --max-size 100 --rejects "$BATS_TEST_TMPDIR/rej.jsonl"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"rej@test/INBOX:2: message of "*" bytes is larger than --max-size"* ]]
	[[ "$stderr" == *"rej@test/INBOX:3: "* ]]
	[ "$(jq -r '[.source.uid, .error != null] | @tsv' "$BATS_TEST_TMPDIR/rej.jsonl" | paste -sd' ')" = "2	true 3	true" ]
	[ "$(pg_q "select cursor->>'uid' from sync_state where account = 'rej@test'")" = 3 ]
	run --separate-stderr crm-sync --imap rej@test
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"rej@test (imap): 0 messages"* ]]
}

@test "--limit: the first N new messages in UID order" {
	new_user lim
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml "$REMOTE_FIX"/new1.eml
	imap_account lim@test
	run --separate-stderr crm-sync --imap lim@test --limit 2
	[ "$status" -eq 0 ]
	[ "$(jq -r .source.uid <<<"$output" | paste -sd' ')" = "1 2" ]
	run crm-sync --imap lim@test --limit 0
	[ "$status" -eq 2 ]
}

@test "folders: a list, and '*' for every folder the server lists" {
	new_user fold
	dc_seed "$REMOTE_FIX"/m1.eml
	dc_deliver -m Sent "$REMOTE_FIX"/m2.eml
	dc_deliver -m Archive "$REMOTE_FIX"/m3.eml
	imap_account fold@test --folders 'INBOX,Sent'
	run --separate-stderr crm-sync --imap fold@test
	[ "$status" -eq 0 ]
	[ "$(jq -r .source.folder <<<"$output" | paste -sd' ')" = "INBOX Sent" ]
	crm-account add fold@test --update --folders 'INBOX,*'
	run --separate-stderr crm-sync --imap fold@test
	[ "$status" -eq 0 ]
	[ "$(jq -r .source.folder <<<"$output" | sort | paste -sd' ')" = "Archive INBOX Sent" ]
	crm-account add fold@test --update --folders 'INBOX,NoSuchFolder'
	run --separate-stderr crm-sync --imap fold@test
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"folder NoSuchFolder: cannot open it"* ]]
}

@test "the server is killed in the middle of a sync and restarted: every message exactly once" {
	new_user crash
	many 300 "$BATS_TEST_TMPDIR/many"
	dc_seed "$BATS_TEST_TMPDIR"/many/*.eml
	imap_account crash@test
	out=$BATS_TEST_TMPDIR/out.jsonl
	# The reader takes 20 records, kills Dovecot (master and children, at
	# once), starts it again, then reads the rest: crm-sync finds its
	# connection dead at its next command, reconnects and goes on.  More
	# retries than the default three (1.4 s in all): under ASan on a busy
	# machine Dovecot can take longer than that to come back.
	CRM_IMAP_BATCH=10 CRM_IMAP_RETRIES=8 crm-sync --imap crash@test 2>"$BATS_TEST_TMPDIR/err" | {
		for i in $(seq 20); do IFS= read -r l; printf '%s\n' "$l"; done
		dc_kill
		sleep 0.5
		dc_up
		cat
	} >"$out"
	cat "$BATS_TEST_TMPDIR/err"
	grep -q 'reconnecting in' "$BATS_TEST_TMPDIR/err"
	[ "$(wc -l <"$out")" = 300 ]
	[ "$(jq -r .source.uid "$out" | sort -n | uniq | wc -l)" = 300 ]
	[ "$(jq -r .source.uid "$out" | sort -n | uniq -d | wc -l)" = 0 ]
	[ "$(jq -r .message_id "$out" | sort -u | wc -l)" = 300 ]
	[ "$(pg_q "select counts->>'reconnects' from job_runs where account = 'crash@test'")" -ge 1 ]
}

@test "a server that stays down: a few reconnects, then exit 3 saying so" {
	port=$(dc_free_port)
	crm-account add down@test --kind imap --host 127.0.0.1 --port "$port" --cafile "$DC_CA" \
	    --password-file "$(secret_file x)"
	CRM_IMAP_RETRIES=2 CRM_IMAP_BACKOFF=0.1 run --separate-stderr crm-sync --imap down@test
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"cannot connect"*"gave up after 2 reconnects"* ]]
}

@test "with crm-store: first sync, new mail, no change — each message stored once, the cursor where the last one is" {
	new_user pipe
	dc_seed "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml
	imap_account pipe@test
	run bash -o pipefail -c 'crm-sync --imap pipe@test | crm-store -q'
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from interactions where account = 'pipe@test'")" = 3 ]
	[ "$(pg_q "select cursor->>'uid' || ' ' || cursor_seq from sync_state where account = 'pipe@test' and kind = 'imap' and folder = 'INBOX'")" = "3 3" ]
	dc_deliver "$REMOTE_FIX"/new1.eml "$REMOTE_FIX"/new2.eml
	run --separate-stderr bash -o pipefail -c 'crm-sync --imap pipe@test | tee "$BATS_TEST_TMPDIR/second.jsonl" | crm-store -q'
	[ "$status" -eq 0 ]
	[ "$(jq -r .message_id "$BATS_TEST_TMPDIR/second.jsonl" | paste -sd' ')" = "new1.demo@rossi.example new2.no@obi.example" ]
	[ "$(pg_q "select count(*) from interactions where account = 'pipe@test'")" = 5 ]
	[ "$(pg_q "select cursor->>'uid' from sync_state where account = 'pipe@test'")" = 5 ]
	start=$(date +%s%N)
	run --separate-stderr crm-sync --imap pipe@test
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$ms" -lt 3000 ]
	# UIDVALIDITY changes: --resync fetches everything again, crm-store keeps no duplicate
	uv=$(doveadm -c "$DC/dovecot.conf" mailbox status -u pipe uidvalidity INBOX | sed 's/.*=//')
	dc_uidvalidity $((uv + 1))
	run bash -o pipefail -c 'crm-sync --imap pipe@test | crm-store -q'
	[ "$status" -eq 4 ]
	run bash -o pipefail -c 'crm-sync --imap pipe@test --resync | crm-store -q'
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from interactions where account = 'pipe@test'")" = 5 ]
	[ "$(pg_q "select (cursor->>'uidvalidity')::bigint - $uv || ' ' || (cursor->>'uid') from sync_state where account = 'pipe@test'")" = "1 5" ]
}

@test "a reader that goes away: exit 3 with a message, the lease released, the job run closed" {
	new_user gone
	many 200 "$BATS_TEST_TMPDIR/g"
	dc_seed "$BATS_TEST_TMPDIR"/g/*.eml
	imap_account gone@test
	run --separate-stderr bash -c 'crm-sync --imap gone@test | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}" >"$BATS_TEST_TMPDIR/rc"'
	[ "$(cat "$BATS_TEST_TMPDIR/rc")" = 3 ]
	[[ "$stderr" == *"error writing standard output: Broken pipe"* ]]
	[ "$(pg_q "select lease_owner is null from mail_accounts where address = 'gone@test'")" = t ]
	[ "$(pg_q "select status from job_runs where account = 'gone@test'")" = failed ]
}
