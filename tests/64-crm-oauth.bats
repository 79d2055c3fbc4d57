#!/usr/bin/env bats
# crm-oauth: authorization code with PKCE S256 and state on a loopback
# redirect, against a local token endpoint; the test plays the browser.

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
	jq -n '[{"method": "POST", "path": "/token", "body_contains": "code=good-code",
	         "responses": [{"status": 200, "json": {"access_token": "at-new", "expires_in": 3599,
	                        "token_type": "Bearer", "refresh_token": "rt-new", "scope": "s"}}]},
	        {"method": "POST", "path": "/token", "body_contains": "code=no-refresh",
	         "responses": [{"status": 200, "json": {"access_token": "at-x", "expires_in": 3599,
	                        "token_type": "Bearer"}}]},
	        {"method": "POST", "path": "/token", "body_contains": "refresh_token=rt-new",
	         "responses": [{"status": 200, "json": {"access_token": "at-refreshed", "expires_in": 3599,
	                        "token_type": "Bearer"}}]},
	        {"method": "POST", "path": "/token",
	         "responses": [{"status": 400, "json": {"error": "invalid_grant", "error_description": "Bad Request"}}]}]' \
	    >"$M/routes.json"
	mock_routes "$MOCK_PORT" "$M/routes.json"
	: >"$MOCK_LOG"
}

# start_authorize ADDRESS [options]: crm-oauth authorize in the background;
# waits for the URL it prints and sets URL, PID.
start_authorize() {
	crm-oauth authorize "$@" >"$BATS_TEST_TMPDIR/url" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	PID=$!
	for _ in $(seq 1 100); do
		[ -s "$BATS_TEST_TMPDIR/url" ] && break
		sleep 0.05
	done
	URL=$(cat "$BATS_TEST_TMPDIR/url")
	[ -n "$URL" ]
}

# param NAME: a query parameter of $URL, decoded
param() {
	$PY -c 'import sys, urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)[sys.argv[2]][0])' "$URL" "$1"
}

# finish: wait for crm-oauth and set status and output (its stderr)
finish() {
	status=0
	wait "$PID" || status=$?
	output=$(cat "$BATS_TEST_TMPDIR/err")
}

google() {
	crm-account add "$1" --kind gmail --api-base "$B" --client-id cid.example --provider google \
	    --auth-url https://accounts.example/o/oauth2/v2/auth --token-url "$B/token" \
	    --client-secret-file "$(secret_file the-client-secret)"
}

@test "authorize: PKCE S256 and state in the URL, the code exchanged with its verifier, the refresh token sealed" {
	google a1@example.org
	start_authorize a1@example.org --timeout 20
	[[ "$URL" == https://accounts.example/o/oauth2/v2/auth\?* ]]
	[ "$(param client_id)" = cid.example ]
	[ "$(param response_type)" = code ]
	[ "$(param scope)" = https://www.googleapis.com/auth/gmail.readonly ]
	[ "$(param code_challenge_method)" = S256 ]
	[ "$(param login_hint)" = a1@example.org ]
	[ "$(param access_type)" = offline ]
	[ "$(param prompt)" = consent ]
	redirect=$(param redirect_uri)
	[[ "$redirect" =~ ^http://127\.0\.0\.1:[0-9]+/$ ]]
	state=$(param state)
	[[ "$state" =~ ^[A-Za-z0-9_-]{43}$ ]]
	challenge=$(param code_challenge)
	# the browser: first a stray request, then the provider's redirect
	run curl -s -o /dev/null -w '%{http_code}' "${redirect}favicon.ico"
	[ "$output" = 404 ]
	run curl -s "${redirect}?code=good-code&state=$state&scope=s"
	[[ "$output" == *"crm is authorized"* ]]
	finish
	[ "$status" -eq 0 ]
	[[ "$output" == *"a1@example.org is authorized"* ]]
	# the exchange: code, redirect_uri, client credentials, and a verifier whose S256 is the challenge
	body=$(jq -r -s '[.[] | select(.path == "/token")][0].body' "$MOCK_LOG")
	$PY - "$body" "$challenge" "$redirect" <<'PY'
import base64, hashlib, sys, urllib.parse as u
f = u.parse_qs(sys.argv[1])
v = f["code_verifier"][0]
assert 43 <= len(v) <= 128 and all(c.isalnum() or c in "-._~" for c in v), v
assert base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).decode().rstrip("=") == sys.argv[2]
assert f["grant_type"] == ["authorization_code"] and f["code"] == ["good-code"]
assert f["redirect_uri"] == [sys.argv[3]] and f["client_id"] == ["cid.example"]
assert f["client_secret"] == ["the-client-secret"]
PY
	run crm-oauth status a1@example.org
	[ "$status" -eq 0 ]
	[[ "$output" == *"a1@example.org"*"gmail"*"google"*"yes"*"ok"* ]]
	[[ "$output" != *rt-new* && "$output" != *at-new* ]]
	[ "$(pg_q "select needs_reauth from mail_accounts where address = 'a1@example.org'")" = f ]
	# and the token works for a refresh
	run --separate-stderr crm-oauth refresh a1@example.org
	[ "$status" -eq 0 ]
	[ "$(log_count '(.body | contains("refresh_token=rt-new"))')" = 1 ]
}

@test "a redirect whose state does not match is refused, and nothing is exchanged or stored" {
	google a2@example.org
	start_authorize a2@example.org --timeout 20
	redirect=$(param redirect_uri)
	run curl -s -w '\n%{http_code}' "${redirect}?code=good-code&state=forged-state-value"
	[[ "$output" == *"Refused"*"400" ]]
	finish
	[ "$status" -eq 3 ]
	[[ "$output" == *"redirect refused: its state does not match the one sent"* ]]
	[ "$(log_count '.path == "/token"')" = 0 ]
	run crm-oauth status a2@example.org
	[[ "$output" == *"a2@example.org"*"google"*" none "*"none"* ]]
}

@test "the user declines: exit 3 with the provider's reason" {
	google a3@example.org
	start_authorize a3@example.org --timeout 20
	redirect=$(param redirect_uri)
	state=$(param state)
	curl -s -o /dev/null "${redirect}?error=access_denied&error_description=The+user+said+no&state=$state"
	finish
	[ "$status" -eq 3 ]
	[[ "$output" == *"authorization denied: access_denied: The user said no"* ]]
}

@test "no browser within --timeout: exit 3 saying so" {
	google a4@example.org
	run crm-oauth authorize a4@example.org --timeout 1
	[ "$status" -eq 3 ]
	[[ "$output" == *"no answer from the browser within 1 s"* ]]
}

@test "Microsoft: response_mode=query, the scope with offline_access, sent again with the code" {
	crm-account add ms@example.org --kind graph --client-id app-id --provider microsoft --tenant contoso \
	    --token-url "$B/token"
	start_authorize ms@example.org --timeout 20
	[[ "$URL" == https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize\?* ]]
	[ "$(param response_mode)" = query ]
	[ "$(param scope)" = "offline_access https://graph.microsoft.com/Mail.Read" ]
	[[ "$URL" != *access_type* ]]
	curl -s -o /dev/null "$(param redirect_uri)?code=good-code&state=$(param state)"
	finish
	[ "$status" -eq 0 ]
	jq -e -s '[.[] | select(.path == "/token")][0].body | contains("scope=offline_access%20https%3A%2F%2Fgraph.microsoft.com%2FMail.Read")' "$MOCK_LOG" >/dev/null
}

@test "a token answer without a refresh token is an error, not a silent half-authorization" {
	google a5@example.org
	start_authorize a5@example.org --timeout 20
	curl -s -o /dev/null "$(param redirect_uri)?code=no-refresh&state=$(param state)"
	finish
	[ "$status" -eq 3 ]
	[[ "$output" == *"the provider sent no refresh token"* ]]
}

@test "a code the token endpoint refuses: exit 3 with its error" {
	google a6@example.org
	start_authorize a6@example.org --timeout 20
	curl -s -o /dev/null "$(param redirect_uri)?code=stale-code&state=$(param state)"
	finish
	[ "$status" -eq 3 ]
	[[ "$output" == *"token endpoint refused the code: HTTP 400: invalid_grant — Bad Request"* ]]
}

@test "refresh with a revoked token marks the account; status shows it and never a token" {
	crm-account add rv@example.org --kind gmail --client-id c --provider google --token-url "$B/token" \
	    --refresh-token-file "$(secret_file revoked-token-value)"
	run crm-oauth refresh rv@example.org
	[ "$status" -eq 3 ]
	[[ "$output" == *"rv@example.org must be authorized again"*"crm-oauth authorize rv@example.org"* ]]
	run crm-oauth status
	[ "$status" -eq 0 ]
	[[ "$output" == *"rv@example.org"*"needs authorize"* ]]
	[[ "$output" != *revoked-token-value* ]]
}

@test "status lists OAuth2 accounts only; authorize refuses a password account" {
	crm-account add pw@example.org --kind imap --host h --password-file "$(secret_file p)"
	run crm-oauth status
	[ "$status" -eq 0 ]
	[[ "$output" != *pw@example.org* ]]
	run crm-oauth authorize pw@example.org
	[ "$status" -eq 2 ]
	[[ "$output" == *"logs in with a password"* ]]
	run crm-oauth authorize nobody@example.org
	[ "$status" -eq 2 ]
	run crm-oauth frob
	[ "$status" -eq 2 ]
}
