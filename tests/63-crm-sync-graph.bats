#!/usr/bin/env bats
# crm-sync --graph against a local server that answers like Microsoft
# Graph v1.0 and the Microsoft identity platform token endpoint (shapes:
# INTERFACES.md §2 and §4; routes from tests/fixtures/remote/routes.py).

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
}

GRAPH_401='{"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid.", "innerError": {"date": "2024-01-05T10:00:00", "request-id": "r1", "client-request-id": "c1"}}}'

# serve TOKEN ROUTES-FILE...: the token endpoint answers the refresh grant
# with TOKEN and a rotated refresh token; the API demands "Bearer TOKEN".
serve() {
	local tok=$1
	shift
	jq -s --arg t "$tok" --argjson e401 "$GRAPH_401" '
	  [{"method": "POST", "path": "/tenant/oauth2/v2.0/token", "body_contains": "grant_type=refresh_token",
	    "responses": [{"status": 200, "json": {"token_type": "Bearer", "scope": "https://graph.microsoft.com/Mail.Read",
	                   "expires_in": 3599, "ext_expires_in": 3599, "access_token": $t,
	                   "refresh_token": ("rotated-after-" + $t)}}]}]
	  + (add | map(. + {header: {Authorization: ("Bearer " + $t)}}))
	  + [{"path_re": "^/v1.0/", "responses": [{"status": 401, "json": $e401}]}]' "$@" >"$M/routes.json"
	mock_routes "$MOCK_PORT" "$M/routes.json"
	: >"$MOCK_LOG"
}

account() {
	crm-account add "$1" --kind graph --api-base "$B/v1.0" --client-id app-id --tenant tenant \
	    --auth-url "$B/tenant/oauth2/v2.0/authorize" --token-url "$B/tenant/oauth2/v2.0/token" \
	    --refresh-token-file "$(secret_file first-refresh)" "${@:2}"
}

delta() {
	local name=$1
	shift
	$PY "$REMOTE_FIX/routes.py" graph-delta --base "$B" "$@" >"$BATS_TEST_TMPDIR/$name.json"
	echo "$BATS_TEST_TMPDIR/$name.json"
}

@test "first sync: the delta query page by page, MIME from \$value, the deltaLink as last cursor" {
	serve gt-1 "$(delta d --page 2 "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml "$REMOTE_FIX"/m3.eml)"
	account o1@example.org
	run --separate-stderr crm-sync --graph o1@example.org
	[ "$status" -eq 0 ]
	all_json
	[ "$(jq -r .message_id <<<"$output" | paste -sd' ')" = "m1.quote@acme.example m2.koeln@beispiel.example m3.meeting@durand.example" ]
	[ "$(jq -r .subject <<<"$output" | sed -n 2p)" = "Grüße aus Köln" ]
	[ "$(jq -r '[.source.kind, .source.folder, .source.id, .source.internet_message_id] | @tsv' <<<"$output" | head -n 1)" = \
	    "graph	inbox	AAMkA000=	<m1.quote@acme.example>" ]
	# a record's cursor: its page while the page has more, the next page after its last message
	[ "$(jq -r .source.cursor.link <<<"$output" | sed "s|$B||" | paste -sd' ')" = \
	    '/v1.0/me/mailFolders/inbox/messages/delta?$select=id,internetMessageId,receivedDateTime,subject /v1.0/me/mailFolders/inbox/messages/delta?$skiptoken=inbox-p2 /v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=d1' ]
	[ "$(jq -r .source.cursor_seq <<<"$output" | paste -sd' ')" = "1 2 3" ]
	[ "$(log_count '.path == "/v1.0/me/mailFolders/inbox/messages/delta" and .headers.Prefer == "odata.maxpagesize=50"')" = 2 ]
	[ "$(log_count '.path | test("^/v1.0/me/messages/.*/[$]value$")')" = 3 ]
	# Microsoft wants the scope with every grant; the rotated refresh token is kept
	jq -e -s '[.[] | select(.path == "/tenant/oauth2/v2.0/token")][0].body | contains("scope=offline_access%20https%3A%2F%2Fgraph.microsoft.com%2FMail.Read")' "$MOCK_LOG" >/dev/null
	[ "$(pg_q "select needs_reauth from mail_accounts where address = 'o1@example.org'")" = f ]
}

@test "the rotated refresh token is the one used next time" {
	serve gt-1 "$(delta d "$REMOTE_FIX"/m1.eml)"
	account rot@example.org
	crm-sync --graph rot@example.org >/dev/null 2>&1
	jq '.[0].body_contains = "refresh_token=rotated-after-gt-1"' "$M/routes.json" >"$M/r2.json"
	jq '.[0].responses[0].json.access_token = "gt-2" | .[0].responses[0].json.refresh_token = "r3"
	    | (.[1:-1][] | .header.Authorization) = "Bearer gt-2"' "$M/r2.json" >"$M/r3.json"
	mock_routes "$MOCK_PORT" "$M/r3.json"
	: >"$MOCK_LOG"
	CRM_HTTP_RETRIES=0 run --separate-stderr crm-oauth refresh rot@example.org
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"rot@example.org: new access token, valid until "* ]]
	[ "$(log_count '.path == "/tenant/oauth2/v2.0/token" and (.body | contains("refresh_token=rotated-after-gt-1"))')" = 1 ]
}

@test "next run from the stored deltaLink; removed messages are counted, not fetched" {
	base=$(delta d --page 5 --from-token d1 --delta-token d2 --id-base B "$REMOTE_FIX"/new1.eml)
	jq '(.[0].responses[0].json.value) += [{"id": "AAMkGone=", "@removed": {"reason": "deleted"}}]' "$base" >"$BATS_TEST_TMPDIR/inc.json"
	serve gt-1 "$BATS_TEST_TMPDIR/inc.json"
	account inc@example.org
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('inc@example.org', 'graph', 'inbox', '{\"link\": \"$B/v1.0/me/mailFolders/inbox/messages/delta?\$deltatoken=d1\"}', 3)"
	run --separate-stderr crm-sync --graph inc@example.org
	[ "$status" -eq 0 ]
	jq_is .message_id new1.demo@rossi.example
	jq_is .source.cursor_seq 4
	jq_is .source.cursor.link "$B/v1.0/me/mailFolders/inbox/messages/delta?\$deltatoken=d2"
	[ "$(log_count '.query["$deltatoken"] == ["d1"]')" = 1 ]
	[ "$(log_count '.path | test("Gone")')" = 0 ]
	[ "$(pg_q "select counts->>'removed' from job_runs where account = 'inc@example.org'")" = 1 ]
	# nothing new: the new deltaLink is stored by crm-sync itself
	pg_q "update sync_state set cursor = '{\"link\": \"$B/v1.0/me/mailFolders/inbox/messages/delta?\$deltatoken=d2\"}', cursor_seq = 4 where account = 'inc@example.org'"
	serve gt-1 "$(delta e --from-token d2 --delta-token d3)"
	run --separate-stderr crm-sync --graph inc@example.org
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(pg_q "select cursor->>'link' from sync_state where account = 'inc@example.org'")" = "$B/v1.0/me/mailFolders/inbox/messages/delta?\$deltatoken=d3" ]
}

@test "an expired delta token (410 Gone): the folder is read again from the start" {
	start=$(delta d --delta-token fresh "$REMOTE_FIX"/m1.eml "$REMOTE_FIX"/m2.eml)
	serve gt-1 "$(jq -n '[{"method": "GET", "path": "/v1.0/me/mailFolders/inbox/messages/delta", "query": {"$deltatoken": "old"},
	    "responses": [{"status": 410, "json": {"error": {"code": "SyncStateNotFound", "message": "The sync state generation is not found."}}}]}]' >"$BATS_TEST_TMPDIR/410.json"; echo "$BATS_TEST_TMPDIR/410.json")" "$start"
	account gone@example.org
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('gone@example.org', 'graph', 'inbox', '{\"link\": \"$B/v1.0/me/mailFolders/inbox/messages/delta?\$deltatoken=old\"}', 9)"
	run --separate-stderr crm-sync --graph gone@example.org
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"delta token of folder inbox has expired (HTTP 410): reading the folder again"* ]]
	[ "$(jq -r .message_id <<<"$output" | paste -sd' ')" = "m1.quote@acme.example m2.koeln@beispiel.example" ]
	[ "$(jq -r .source.cursor_seq <<<"$output" | paste -sd' ')" = "1 2" ]
	[ "$(pg_q "select cursor_seq from sync_state where account = 'gone@example.org'")" = 0 ]
}

@test "429 and 503 with Retry-After are honoured" {
	d=$(delta d "$REMOTE_FIX"/m1.eml)
	jq '(.[] | select(.path == "/v1.0/me/mailFolders/inbox/messages/delta") | .responses) |= [
	      {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"code": "TooManyRequests",
	        "message": "Please retry again later."}}},
	      {"status": 503, "headers": {"Retry-After": "1"}, "json": {"error": {"code": "ServiceUnavailable",
	        "message": "Service unavailable"}}}] + .' "$d" >"$BATS_TEST_TMPDIR/throttle.json"
	serve gt-1 "$BATS_TEST_TMPDIR/throttle.json"
	account thr@example.org
	run --separate-stderr crm-sync --graph thr@example.org
	[ "$status" -eq 0 ]
	jq_is .message_id m1.quote@acme.example
	ts=$(jq -s -c '[.[] | select(.path == "/v1.0/me/mailFolders/inbox/messages/delta") | .t]' "$MOCK_LOG")
	[ "$(jq length <<<"$ts")" = 3 ]
	jq -e '(.[1] - .[0]) >= 0.95 and (.[2] - .[1]) >= 0.95' <<<"$ts" >/dev/null
}

@test "several folders, each with its own cursor; a user principal instead of me" {
	a=$(delta a --folder inbox "$REMOTE_FIX"/m1.eml)
	s=$(delta s --folder sentitems --id-base S "$REMOTE_FIX"/m3.eml)
	jq -s 'add | map(.path |= sub("^/v1.0/me/"; "/v1.0/users/sales@firm.example/"))' "$a" "$s" >"$BATS_TEST_TMPDIR/users.json"
	serve gt-1 "$BATS_TEST_TMPDIR/users.json"
	account multi@example.org --folders inbox,sentitems
	pg_q "update mail_accounts set settings = settings || '{\"user\": \"sales@firm.example\"}' where address = 'multi@example.org'"
	run --separate-stderr crm-sync --graph multi@example.org
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.source.folder, .message_id] | @tsv' <<<"$output" | paste -sd' ')" = "inbox	m1.quote@acme.example sentitems	m3.meeting@durand.example" ]
	[ "$(log_count '.path | startswith("/v1.0/users/sales@firm.example/")')" = 4 ]
}

@test "a page with neither link, malformed JSON, a 404 folder: exit 3 with the reason" {
	serve gt-1 "$(jq -n '[{"method": "GET", "path": "/v1.0/me/mailFolders/inbox/messages/delta",
	    "responses": [{"status": 200, "json": {"value": []}}]}]' >"$BATS_TEST_TMPDIR/nolink.json"; echo "$BATS_TEST_TMPDIR/nolink.json")"
	account odd@example.org
	run --separate-stderr crm-sync --graph odd@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"a delta page with neither nextLink nor deltaLink"* ]]
	serve gt-1 "$(jq -n '[{"method": "GET", "path": "/v1.0/me/mailFolders/inbox/messages/delta",
	    "responses": [{"status": 200, "body": "{\"value\": [ {\"id\": "}]}]' >"$BATS_TEST_TMPDIR/trunc.json"; echo "$BATS_TEST_TMPDIR/trunc.json")"
	run --separate-stderr crm-sync --graph odd@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"malformed JSON in the response (truncated)"* ]]
	serve gt-1 "$(jq -n '[{"method": "GET", "path": "/v1.0/me/mailFolders/inbox/messages/delta",
	    "responses": [{"status": 404, "json": {"error": {"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."}}}]}]' >"$BATS_TEST_TMPDIR/404.json"; echo "$BATS_TEST_TMPDIR/404.json")"
	run --separate-stderr crm-sync --graph odd@example.org
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Graph: folder inbox: HTTP 404: Id is malformed."* ]]
}
