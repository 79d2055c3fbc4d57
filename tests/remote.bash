# remote.bash — shared by the remote-source suites (tests/6*-*.bats):
# a migrated throwaway PostgreSQL, a secret key, and helpers to make
# accounts and script the local HTTP peers.
#
#   setup_file()    { load remote; remote_setup; }      # PostgreSQL + key
#   teardown_file() { remote_teardown; }
#   (remote_mock_setup / remote_mock_teardown add the local HTTP peer)

load pg
load dovecot

REMOTE_FIX="$BATS_TEST_DIRNAME/fixtures/remote"

remote_setup() {
	pg_start || return 1
	crm-db migrate >"$BATS_FILE_TMPDIR/migrate.log" 2>&1 ||
	    { echo "crm-db migrate failed:" >&2; cat "$BATS_FILE_TMPDIR/migrate.log" >&2; return 1; }
	export CRM_SECRET_KEY_FILE="$BATS_FILE_TMPDIR/secret.key"
	crm-account keygen 2>/dev/null || return 1
	# quick retries: the tests script failures on purpose
	export CRM_HTTP_BACKOFF=0.05 CRM_HTTP_BACKOFF_MAX=5 CRM_HTTP_TIMEOUT=5
	export CRM_IMAP_BACKOFF=0.2 CRM_IMAP_RETRIES=3 CRM_IMAP_TIMEOUT=10
}

remote_teardown() {
	pg_stop
}

# remote_mock_setup: remote_setup, then a scripted local HTTP peer with no
# routes yet (its directory in $M, its port in $MOCK_PORT); the suites
# load their routes test by test.
remote_mock_setup() {
	remote_setup || return 1
	M=$BATS_FILE_TMPDIR/mock
	mkdir -p "$M"
	echo '[]' >"$M/empty.json"
	mock_start "$M" "$M/empty.json"
	export M
}

remote_mock_teardown() {
	mock_stop "$M"
	remote_teardown
}

# secret_file TEXT: a file holding TEXT (path printed)
secret_file() {
	local f
	f=$(mktemp "$BATS_FILE_TMPDIR/secret.XXXXXX")
	printf '%s\n' "$1" >"$f"
	echo "$f"
}

# imap_account ADDRESS [crm-account options...]: an IMAP account on the
# test Dovecot (implicit TLS, its CA, user test, password secret).
imap_account() {
	local a=$1
	shift
	crm-account add "$a" --kind imap --host localhost --port "$DC_TLSPORT" \
	    --cafile "$DC_CA" --user "$DC_USER" --password-file "$(secret_file "$DC_PASS")" "$@"
}

# log_count JQ-SELECT: requests in $MOCK_LOG matching a jq condition
log_count() {
	jq -s "[.[] | select($1)] | length" "$MOCK_LOG"
}
