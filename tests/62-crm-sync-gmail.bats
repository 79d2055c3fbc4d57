#!/usr/bin/env bats
# crm-sync --gmail against a local server that answers like the Gmail API
# v1 and Google's token endpoint (shapes: INTERFACES.md §2-3; routes from
# tests/fixtures/remote/routes.py).  Every API route demands the bearer
# token the token endpoint handed out, as Gmail does.

load helper
load remote

setup_file() {
	remote_mock_setup
}

teardown_file() {
	remote_mock_teardown
}

setup() {
	B=http://127.0.0.1:$MOCK_PORT
	export CRM_GMAIL_PAGE_SIZE=2
}

GMAIL_401='{"error": {"code": 401, "message": "Request had invalid authentication credentials.", "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError"}], "status": "UNAUTHENTICATED"}}'

# serve TOKEN API-ROUTES-FILE...: the token endpoint gives TOKEN for the
# refresh token "rt-good"; API routes demand "Bearer TOKEN", else 401.
serve() {
	local tok=$1
	shift
	jq -s --arg t "$tok" --argjson e401 "$GMAIL_401" '
	  [{"method": "POST", "path": "/token", "body_contains": "refresh_token=rt-good",
	    "responses": [{"status": 200, "json": {"access_token": $t, "expires_in": 3599,
	                   "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/gmail.readonly"}}]},
	   {"method": "POST", "path": "/token",
	    "responses": [{"status": 400, "json": {"error": "invalid_grant",
	                   "error_description": "Token has been expired or revoked."}}]}]
	  + (add | map(. + {header: {Authorization: ("Bearer " + $t)}}))
	  + [{"path_re": "^/gmail/", "responses": [{"status": 401, "json": $e401}]}]' "$@" >"$M/routes.json"
	mock_routes "$MOCK_PORT" "$M/routes.json"
	: >"$MOCK_LOG"
}

# account ADDRESS [refresh token]
account() {
	crm-account add "$1" --kind gmail --api-base "$B" --client-id cid.apps.example \
	    --client-secret-file "$(secret_file client-secret)" --token-url "$B/token" \
	    --refresh-token-file "$(secret_file "${2:-rt-good}")"
}

full() {
	$PY "$REMOTE_FIX/routes.py" gmail-full --page 2 "$@" >"$BATS_TEST_TMPDIR/full.json"
	echo "$BATS_TEST_TMPDIR/full.json"
}

# json FILTER: a routes file made by jq -n FILTER
json() {
	jq -n "$1" >"$BATS_TEST_TMPDIR/extra.$2.json"
	echo "$BATS_TEST_TMPDIR/extra.$2.json"
}

@test "first sync: profile, every page of messages.list, each message with format=raw, in id order" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml)"
	account g1@example.org
	run --separate-stderr crm-sync --gmail g1@example.org
	[ "$status" -eq 0 ]
	all_json
	[ "$(jq -r .subject <<<"$output" | paste -sd'|')" = 'Quote for 40 licences|Grüße aus Köln|Re: Meeting next week' ]
	[ "$(jq -r .source.id <<<"$output" | paste -sd' ')" = "18c0000000000000 18c0000000000001 18c0000000000002" ]
	[ "$(jq -c .source.cursor <<<"$output" | paste -sd' ')" = \
	    '{"history_id":"1000","full_after":"18c0000000000000"} {"history_id":"1000","full_after":"18c0000000000001"} {"history_id":"1000"}' ]
	[ "$(jq -r .source.cursor_seq <<<"$output" | paste -sd' ')" = "1 2 3" ]
	[ "$(jq -r '[.source.kind, .source.thread_id, (.source.labels | join(","))] | @tsv' <<<"$output" | head -n 1)" = "gmail	18c0000000000000	INBOX,UNREAD" ]
	[ "$(jq -r .date <<<"$output" | head -n 1)" = 2024-01-01T10:00:00Z ]
	# one token request: client id and secret and the refresh token, as a form
	[ "$(log_count '.path == "/token"')" = 1 ]
	jq -e -s '[.[] | select(.path == "/token")][0].body | contains("grant_type=refresh_token") and contains("client_secret=client-secret") and contains("client_id=cid.apps.example")' "$MOCK_LOG" >/dev/null
	[ "$(log_count '.path == "/gmail/v1/users/me/messages" and .query.q == ["-in:chats -in:drafts"]')" = 2 ]
	[ "$(log_count '(.path | startswith("/gmail/v1/users/me/messages/")) and .query.format == ["raw"]')" = 3 ]
	[ "$(log_count '(.path | startswith("/gmail/")) and .headers.Authorization != "Bearer at-1"')" = 0 ]
	[[ "$stderr" == *"g1@example.org (gmail): 3 messages"* ]]
	[[ "$stderr" != *at-1* && "$stderr" != *rt-good* && "$stderr" != *client-secret* ]]
}

@test "--since narrows the first listing with Gmail's after: search" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml)"
	account since@example.org
	run crm-sync --gmail since@example.org --since 2024-01-02
	[ "$status" -eq 0 ]
	[ "$(log_count '.path == "/gmail/v1/users/me/messages" and .query.q == ["-in:chats -in:drafts after:2024/01/02"]')" = 1 ]
}

@test "later runs read history.list from the stored historyId; nothing new moves the cursor itself" {
	$PY "$REMOTE_FIX/routes.py" gmail-history --start 1000 --end 1005 --page 1 \
	    "$REMOTE_FIX"/new1.eml "$REMOTE_FIX"/new2.eml >"$BATS_TEST_TMPDIR/h.json"
	serve at-1 "$BATS_TEST_TMPDIR/h.json"
	account inc@example.org
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('inc@example.org', 'gmail', '', '{\"history_id\": \"1000\"}', 3)"
	run --separate-stderr crm-sync --gmail inc@example.org
	[ "$status" -eq 0 ]
	[ "$(jq -r .subject <<<"$output" | paste -sd'|')" = 'Demo request|Not interested' ]
	[ "$(jq -c '[.source.cursor.history_id, .source.cursor_seq]' <<<"$output" | paste -sd' ')" = '["1001",4] ["1002",5]' ]
	[ "$(log_count '.path == "/gmail/v1/users/me/history" and .query.startHistoryId == ["1000"] and .query.historyTypes == ["messageAdded"]')" = 2 ]
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 0 ]
	# as crm-store leaves it after storing those two
	pg_q "update sync_state set cursor = '{\"history_id\": \"1002\"}', cursor_seq = 5 where account = 'inc@example.org'"
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/history", "query": {"startHistoryId": "1002"},
	    "responses": [{"status": 200, "json": {"historyId": "1010"}}]}]' nochange)"
	run --separate-stderr crm-sync --gmail inc@example.org
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(pg_q "select cursor->>'history_id' || ' ' || cursor_seq from sync_state where account = 'inc@example.org'")" = "1010 5" ]
}

@test "an expired historyId (404): the cursor is reset and the mailbox listed again" {
	$PY "$REMOTE_FIX/routes.py" gmail-full --page 2 --history-id 2000 "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml >"$BATS_TEST_TMPDIR/f.json"
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/history",
	    "responses": [{"status": 404, "json": {"error": {"code": 404, "message": "Requested entity was not found.",
	      "errors": [{"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}],
	      "status": "NOT_FOUND"}}}]}]' h404)" "$BATS_TEST_TMPDIR/f.json"
	account exp@example.org
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('exp@example.org', 'gmail', '', '{\"history_id\": \"5\"}', 40)"
	run --separate-stderr crm-sync --gmail exp@example.org
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"Gmail history 5 has expired (HTTP 404): listing the whole mailbox again"* ]]
	[ "$(jq -r .message_id <<<"$output" | paste -sd' ')" = "m1.quote@acme.example m2.koeln@beispiel.example" ]
	[ "$(jq -c .source.cursor <<<"$output" | tail -n 1)" = '{"history_id":"2000"}' ]
	[ "$(jq -r .source.cursor_seq <<<"$output" | paste -sd' ')" = "1 2" ]
	[ "$(pg_q "select coalesce(cursor::text, 'null') || ' ' || cursor_seq from sync_state where account = 'exp@example.org'")" = "null 0" ]
}

@test "401 on a stored access token: one refresh, then the new token works" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml)"
	account r401@example.org
	run crm-sync --gmail r401@example.org
	[ "$status" -eq 0 ]
	# the API now refuses at-1 and the token endpoint gives at-2
	serve at-2 "$(full "$REMOTE_FIX"/m1.eml)"
	run --separate-stderr crm-sync --gmail r401@example.org --resync
	[ "$status" -eq 0 ]
	jq_is .subject 'Quote for 40 licences'
	[ "$(log_count '.path == "/token"')" = 1 ]
	[ "$(log_count '.headers.Authorization == "Bearer at-1"')" = 1 ]
	[ "$(log_count '(.path | startswith("/gmail/")) and .headers.Authorization == "Bearer at-2"')" -ge 3 ]
}

@test "401 even with a fresh token: exit 3, the account is marked for re-authorization" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml)"
	# the API wants at-1 but the token endpoint hands out at-x
	jq '.[0].responses[0].json.access_token = "at-x"' "$M/routes.json" >"$M/r2.json"
	mock_routes "$MOCK_PORT" "$M/r2.json"
	account deny@example.org
	run --separate-stderr crm-sync --gmail deny@example.org
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"Gmail refuses a freshly refreshed access token (HTTP 401)"* ]]
	[ "$(log_count '.path == "/token"')" = 2 ]
	[ "$(pg_q "select needs_reauth from mail_accounts where address = 'deny@example.org'")" = t ]
}

@test "a revoked refresh token (invalid_grant): exit 3 with the way out, nothing retried" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml)"
	account revoked@example.org rt-revoked
	run --separate-stderr crm-sync --gmail revoked@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"revoked@example.org must be authorized again (token endpoint refused the refresh: HTTP 400: invalid_grant — Token has been expired or revoked.): run 'crm-oauth authorize revoked@example.org'"* ]]
	[ "$(log_count '.path == "/token"')" = 1 ]
	[ "$(pg_q "select needs_reauth from mail_accounts where address = 'revoked@example.org'")" = t ]
	[[ "$(pg_q "select last_error from mail_accounts where address = 'revoked@example.org'")" == *invalid_grant* ]]
}

@test "429 with Retry-After: the wait is honoured, then the request goes through" {
	full "$REMOTE_FIX"/m1.eml >/dev/null
	jq '(.[] | select(.path == "/gmail/v1/users/me/profile") | .responses) |= [
	      {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"code": 429,
	        "message": "Too many requests", "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
	        "message": "Too many requests"}], "status": "RESOURCE_EXHAUSTED"}}}] + .' \
	    "$BATS_TEST_TMPDIR/full.json" >"$BATS_TEST_TMPDIR/429.json"
	serve at-1 "$BATS_TEST_TMPDIR/429.json"
	account r429@example.org
	run --separate-stderr crm-sync --gmail r429@example.org
	[ "$status" -eq 0 ]
	jq_is .subject 'Quote for 40 licences'
	gap=$(jq -s '[.[] | select(.path == "/gmail/v1/users/me/profile") | .t] | .[1] - .[0]' "$MOCK_LOG")
	awk -v g="$gap" 'BEGIN { exit !(g >= 0.95) }'
}

@test "403 rateLimitExceeded is retried; 403 for missing permission is not" {
	full "$REMOTE_FIX"/m1.eml >/dev/null
	jq '(.[] | select(.path == "/gmail/v1/users/me/profile") | .responses) |= [
	      {"status": 403, "json": {"error": {"code": 403, "message": "User Rate Limit Exceeded",
	        "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "User Rate Limit Exceeded"}]}}}] + .' \
	    "$BATS_TEST_TMPDIR/full.json" >"$BATS_TEST_TMPDIR/403.json"
	serve at-1 "$BATS_TEST_TMPDIR/403.json"
	account r403@example.org
	run crm-sync --gmail r403@example.org
	[ "$status" -eq 0 ]
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 2 ]
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/profile",
	    "responses": [{"status": 403, "json": {"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
	      "errors": [{"domain": "global", "reason": "insufficientPermissions", "message": "Insufficient Permission"}]}}}]}]' perm)"
	account perm@example.org
	run --separate-stderr crm-sync --gmail perm@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Gmail: HTTP 403: Request had insufficient authentication scopes."* ]]
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 1 ]
}

@test "5xx: retried with backoff until it passes, or given up with a count" {
	full "$REMOTE_FIX"/m1.eml >/dev/null
	jq '(.[] | select(.path == "/gmail/v1/users/me/profile") | .responses) |= [
	      {"status": 500, "json": {"error": {"code": 500, "message": "Backend Error"}}},
	      {"status": 503, "json": {"error": {"code": 503, "message": "The service is currently unavailable."}}}] + .' \
	    "$BATS_TEST_TMPDIR/full.json" >"$BATS_TEST_TMPDIR/5xx.json"
	serve at-1 "$BATS_TEST_TMPDIR/5xx.json"
	account r5xx@example.org
	run crm-sync --gmail r5xx@example.org
	[ "$status" -eq 0 ]
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 3 ]
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/profile",
	    "responses": [{"status": 500, "json": {"error": {"code": 500, "message": "Backend Error"}}}]}]' always500)"
	account dead@example.org
	CRM_HTTP_RETRIES=3 run --separate-stderr crm-sync --gmail dead@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Gmail: HTTP 500: Backend Error"* ]]
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 4 ]
}

@test "malformed JSON: a listing is an error (exit 3); a message that cannot be decoded is a reject (exit 1)" {
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/profile",
	    "responses": [{"status": 200, "body": "{\"historyId\": \"1000\", "}]}]' badjson)"
	account bad@example.org
	run --separate-stderr crm-sync --gmail bad@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Gmail: malformed JSON in the response"* ]]
	full "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml >/dev/null
	jq '(.[] | select(.path == "/gmail/v1/users/me/messages/18c0000000000000") | .responses[0].json.raw) = "%%% not base64 %%%"' \
	    "$BATS_TEST_TMPDIR/full.json" >"$BATS_TEST_TMPDIR/badraw.json"
	serve at-1 "$BATS_TEST_TMPDIR/badraw.json"
	account badraw@example.org
	run --separate-stderr crm-sync --gmail badraw@example.org --rejects "$BATS_TEST_TMPDIR/rej.jsonl"
	[ "$status" -eq 1 ]
	jq_is .message_id m2.koeln@beispiel.example
	[[ "$stderr" == *"badraw@example.org: message 18c0000000000000: Gmail sent raw content that is not base64url"* ]]
	[ "$(jq -r .source.id "$BATS_TEST_TMPDIR/rej.jsonl")" = 18c0000000000000 ]
}

@test "a response slower than the timeout is abandoned: exit 3, nothing printed" {
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/profile",
	    "responses": [{"status": 200, "delay": 4, "json": {"historyId": "1000"}}]}]' slow)"
	account slow@example.org
	start=$(date +%s)
	CRM_HTTP_TIMEOUT=1 CRM_HTTP_RETRIES=1 run --separate-stderr crm-sync --gmail slow@example.org
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" == *"Gmail: "*"(after 2 attempts)"* ]]
	[ $(( $(date +%s) - start )) -lt 8 ]
}

@test "a message deleted between listing and fetching (404) is skipped, not an error" {
	full "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml >/dev/null
	jq '(.[] | select(.path == "/gmail/v1/users/me/messages/18c0000000000001") | .responses) = [
	      {"status": 404, "json": {"error": {"code": 404, "message": "Requested entity was not found.",
	        "errors": [{"domain": "global", "reason": "notFound", "message": "Requested entity was not found."}],
	        "status": "NOT_FOUND"}}}]' "$BATS_TEST_TMPDIR/full.json" >"$BATS_TEST_TMPDIR/gone.json"
	serve at-1 "$BATS_TEST_TMPDIR/gone.json"
	account gone@example.org
	run --separate-stderr crm-sync --gmail gone@example.org
	[ "$status" -eq 0 ]
	jq_is .message_id m1.quote@acme.example
	[ "$(pg_q "select counts->>'gone' from job_runs where account = 'gone@example.org'")" = 1 ]
}

@test "--limit cuts a first sync; the next run goes on after the last id handed on" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml)"
	account lim@example.org
	run --separate-stderr crm-sync --gmail lim@example.org --limit 2
	[ "$status" -eq 0 ]
	[ "$(jq -c .source.cursor <<<"$output" | tail -n 1)" = '{"history_id":"1000","full_after":"18c0000000000001"}' ]
	# crm-store commits that cursor with the records
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('lim@example.org', 'gmail', '', '{\"history_id\": \"1000\", \"full_after\": \"18c0000000000001\"}', 2)"
	: >"$MOCK_LOG"
	run --separate-stderr crm-sync --gmail lim@example.org
	[ "$status" -eq 0 ]
	jq_is .source.id 18c0000000000002
	jq_is .source.cursor_seq 3
	jq_is '.source.cursor | tojson' '{"history_id":"1000"}'
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 0 ]
}

@test "a 400 is not retried" {
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/profile",
	    "responses": [{"status": 400, "json": {"error": {"code": 400, "message": "Invalid query"}}}]}]' r400)"
	account r400@example.org
	run --separate-stderr crm-sync --gmail r400@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Gmail: HTTP 400: Invalid query"* ]]
	[ "$(log_count '.path == "/gmail/v1/users/me/profile"')" = 1 ]
}

@test "with crm-store: the first sync stores the historyId; an expired one lists again without a duplicate" {
	serve at-1 "$(full "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml)"
	account store@example.org
	run bash -o pipefail -c 'crm-sync --gmail store@example.org | crm-store -q'
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from interactions where account = 'store@example.org'")" = 3 ]
	[ "$(pg_q "select cursor::text from sync_state where account = 'store@example.org' and kind = 'gmail'")" = '{"history_id": "1000"}' ]
	$PY "$REMOTE_FIX/routes.py" gmail-full --page 2 --history-id 3000 "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml "$REMOTE_FIX"/new1.eml >"$BATS_TEST_TMPDIR/f2.json"
	serve at-1 "$(json '[{"method": "GET", "path": "/gmail/v1/users/me/history", "query": {"startHistoryId": "1000"},
	    "responses": [{"status": 404, "json": {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}}]}]' e404)" "$BATS_TEST_TMPDIR/f2.json"
	run bash -o pipefail -c 'crm-sync --gmail store@example.org | crm-store -q'
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from interactions where account = 'store@example.org'")" = 4 ]
	[ "$(pg_q "select cursor::text from sync_state where account = 'store@example.org' and kind = 'gmail'")" = '{"history_id": "3000"}' ]
}
