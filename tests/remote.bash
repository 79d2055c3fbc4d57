# remote.bash — shared by the remote-source suites (tests/6*-*.bats):
# a migrated throwaway PostgreSQL, a secret key, and helpers to make
# accounts and script the local HTTP peers.
#
#   setup_file()    { load remote; remote_setup; }      # PostgreSQL + key
#   teardown_file() { remote_teardown; }

load pg
load dovecot

REMOTE_FIX="$BATS_TEST_DIRNAME/fixtures/remote"

remote_setup() {
	pg_start || return 1
	crm-db migrate >/dev/null 2>&1 || { echo "crm-db migrate failed" >&2; return 1; }
	export CRM_SECRET_KEY_FILE="$BATS_FILE_TMPDIR/secret.key"
	crm-account keygen 2>/dev/null || return 1
	# quick retries: the tests script failures on purpose
	export CRM_HTTP_BACKOFF=0.05 CRM_HTTP_BACKOFF_MAX=5 CRM_HTTP_TIMEOUT=5
	export CRM_IMAP_BACKOFF=0.2 CRM_IMAP_RETRIES=3 CRM_IMAP_TIMEOUT=10
}

remote_teardown() {
	pg_stop
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

# records [FILE]: the lines of FILE (default $output) that are JSON records
records() {
	printf '%s\n' "${1-$output}" | grep '^{' || true
}

# store_cursors < records: commit the cursors carried by records as
# crm-store does (the greatest cursor_seq per account, kind, folder), for
# suites that test crm-sync alone.
store_cursors() {
	jq -c 'select(.source.cursor != null) | [.source.account, .source.kind, .source.folder // "", (.source.cursor | tojson), .source.cursor_seq]' |
	while IFS= read -r row; do
		psql -qAtX -v ON_ERROR_STOP=1 \
		    -v a="$(jq -r '.[0]' <<<"$row")" -v k="$(jq -r '.[1]' <<<"$row")" \
		    -v f="$(jq -r '.[2]' <<<"$row")" -v c="$(jq -r '.[3]' <<<"$row")" \
		    -v s="$(jq -r '.[4]' <<<"$row")" <<'SQL'
insert into sync_state (account, kind, folder, cursor, cursor_seq)
values (:'a', :'k', :'f', :'c'::jsonb, :'s'::numeric)
on conflict (account, kind, folder) do update set cursor = excluded.cursor,
  cursor_seq = excluded.cursor_seq, updated_at = now()
  where sync_state.cursor_seq < excluded.cursor_seq;
SQL
	done
}

# mock_json PORT JQ-FILTER [ARGS...]: build routes with jq -n and load them
mock_json() {
	local port=$1 f
	shift
	f=$(mktemp "$BATS_FILE_TMPDIR/routes.XXXXXX")
	jq -n "$@" >"$f" && mock_routes "$port" "$f"
}

# log_count JQ-SELECT: requests in $MOCK_LOG matching a jq condition
log_count() {
	jq -s "[.[] | select($1)] | length" "$MOCK_LOG"
}
