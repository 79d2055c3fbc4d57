#!/usr/bin/env bats
# crm-account: the secret key, accounts in PostgreSQL, sealed credentials.

load helper
load remote

setup_file() {
	remote_setup
}

teardown_file() {
	remote_teardown
}

@test "keygen makes a 0600 key of 64 hex digits and never overwrites it" {
	k="$BATS_TEST_TMPDIR/sub/dir/k"
	run crm-account keygen "$k"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$k")" = 600 ]
	[ "$(stat -c %a "$(dirname "$k")")" = 700 ]
	grep -Eqx '[0-9a-f]{64}' "$k"
	cp "$k" "$k.before"
	run crm-account keygen "$k"
	[ "$status" -eq 3 ]
	[[ "$output" == *"already exists"*"refusing to overwrite"* ]]
	cmp "$k" "$k.before"
}

@test "a key file readable by group or others is refused, and nothing is stored" {
	k="$BATS_TEST_TMPDIR/k"
	crm-account keygen "$k"
	chmod 640 "$k"
	CRM_SECRET_KEY_FILE=$k run crm-account add loose@example.org --kind imap --host h \
	    --password-file "$(secret_file pw)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$k has mode 0640"*"must not be readable by group or others"* ]]
	[ "$(pg_q "select count(*) from mail_accounts where address = 'loose@example.org'")" = 0 ]
	chmod 604 "$k"
	CRM_SECRET_KEY_FILE=$k run crm-account add loose@example.org --kind imap --host h \
	    --password-file "$(secret_file pw)"
	[ "$status" -eq 3 ]
}

@test "a missing key file says how to make one" {
	CRM_SECRET_KEY_FILE=$BATS_TEST_TMPDIR/none run crm-account add nokey@example.org --kind imap \
	    --host h --password-file "$(secret_file pw)"
	[ "$status" -eq 3 ]
	[[ "$output" == *"does not exist"*"crm-account keygen"* ]]
}

@test "add stores the password sealed: list and show never print it, the database holds no plain text" {
	pw='Sup3r-s3cret-pass'
	run crm-account add sales@firm.example --kind imap --host imap.firm.example \
	    --password-file "$(secret_file "$pw")" --folders INBOX,Sent
	[ "$status" -eq 0 ]
	run crm-account list
	[ "$status" -eq 0 ]
	[[ "$output" == *"sales@firm.example"*"imap"*"active"*"never"* ]]
	[[ "$output" != *"$pw"* ]]
	run crm-account show sales@firm.example
	[ "$status" -eq 0 ]
	[[ "$output" == *"credentials:  sealed (AES-256-GCM)"* ]]
	[[ "$output" == *'"folders":["INBOX","Sent"]'* ]]
	[[ "$output" != *"$pw"* ]]
	run crm-account show sales@firm.example --json
	jq_is .settings.host imap.firm.example
	jq_is .credentials true
	# the blob: version 1, then the key id, a nonce; the plain text is nowhere
	blob=$(pg_q "select encode(credentials, 'hex') from mail_accounts where address = 'sales@firm.example'")
	[ "${blob:0:2}" = 01 ]
	hexpw=$(printf '%s' "$pw" | od -An -tx1 | tr -d ' \n')
	[[ "$blob" != *"$hexpw"* ]]
	[ "$(pg_q "select count(*) from mail_accounts where settings::text like '%$pw%'")" = 0 ]
}

@test "two seals of the same secret differ (a fresh nonce each time)" {
	f=$(secret_file same-password)
	crm-account add n1@example.org --kind imap --host h --password-file "$f"
	crm-account add n2@example.org --kind imap --host h --password-file "$f"
	run pg_q "select count(distinct substr(encode(credentials, 'hex'), 11)) from mail_accounts where address in ('n1@example.org', 'n2@example.org')"
	[ "$output" = 2 ]
}

@test "the password can come from a file descriptor; without any source and no terminal, usage error" {
	run sh -c "crm-account add fd@example.org --kind imap --host h --password-fd 3 3<'$(secret_file from-fd)'"
	[ "$status" -eq 0 ]
	run crm-account show fd@example.org --json
	jq_is .credentials true
	run crm-account add nosrc@example.org --kind imap --host h </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"no terminal to prompt"* ]]
	[ "$(pg_q "select count(*) from mail_accounts where address = 'nosrc@example.org'")" = 0 ]
}

@test "add refuses an existing address, bad kinds, plain IMAP without --insecure, OAuth2 without a client id" {
	crm-account add dup@example.org --kind imap --host h --password-file "$(secret_file p)"
	run crm-account add dup@example.org --kind imap --host h --password-file "$(secret_file p)"
	[ "$status" -eq 2 ]
	[[ "$output" == *"exists"*"--update"* ]]
	run crm-account add x@example.org --kind pop3 --host h
	[ "$status" -eq 2 ]
	run crm-account add x@example.org --kind imap --password-file "$(secret_file p)"
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs --host"* ]]
	run crm-account add x@example.org --kind imap --host h --tls none --password-file "$(secret_file p)"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--insecure"* ]]
	run crm-account add x@example.org --kind gmail
	[ "$status" -eq 2 ]
	[[ "$output" == *"--client-id"* ]]
	run crm-account add x@example.org --kind gmail --auth password --client-id c
	[ "$status" -eq 2 ]
	run crm-account add plain@example.org --kind imap --host h --tls none --insecure \
	    --password-file "$(secret_file p)"
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from mail_accounts where address = 'x@example.org'")" = 0 ]
}

@test "--update changes settings and keeps the sealed password" {
	crm-account add up@example.org --kind imap --host old.example --password-file "$(secret_file keep-me)"
	before=$(pg_q "select encode(credentials, 'hex') from mail_accounts where address = 'up@example.org'")
	run crm-account add up@example.org --update --host new.example --folders 'INBOX,*'
	[ "$status" -eq 0 ]
	run crm-account show up@example.org --json
	jq_is .settings.host new.example
	jq_is '.settings.folders | join(" ")' 'INBOX *'
	jq_is .settings.auth password
	[ "$(pg_q "select encode(credentials, 'hex') from mail_accounts where address = 'up@example.org'")" = "$before" ]
	run crm-account add nobody@example.org --update --host h
	[ "$status" -eq 2 ]
	run crm-account add up@example.org --update --kind gmail
	[ "$status" -eq 2 ]
}

@test "disable, enable and remove; remove drops the account's cursors, not other accounts'" {
	crm-account add d@example.org --kind imap --host h --password-file "$(secret_file p)"
	crm-account add keep@example.org --kind imap --host h --password-file "$(secret_file p)"
	pg_q "insert into sync_state (account, kind, folder, cursor, cursor_seq) values ('d@example.org', 'imap', 'INBOX', '{\"uid\": 5}', 5), ('keep@example.org', 'imap', 'INBOX', '{\"uid\": 7}', 7)"
	run crm-account disable d@example.org
	[ "$status" -eq 0 ]
	run crm-account list
	[[ "$output" == *"d@example.org"*"disabled"* ]]
	run crm-sync --imap d@example.org
	[ "$status" -eq 3 ]
	[[ "$output" == *"d@example.org is disabled"* ]]
	crm-account enable d@example.org
	run crm-account show d@example.org --json
	jq_is .active true
	run crm-account remove d@example.org
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from mail_accounts where address = 'd@example.org'")" = 0 ]
	[ "$(pg_q "select count(*) from sync_state where account = 'd@example.org'")" = 0 ]
	[ "$(pg_q "select count(*) from sync_state where account = 'keep@example.org'")" = 1 ]
	run crm-account remove d@example.org
	[ "$status" -eq 2 ]
	run crm-account disable nobody@example.org
	[ "$status" -eq 2 ]
}

@test "list --json prints one JSON object per account" {
	run crm-account list --json
	[ "$status" -eq 0 ]
	all_json
	[ "$(printf '%s\n' "$output" | wc -l)" = "$(pg_q 'select count(*) from mail_accounts')" ]
}

@test "crm-sync: unknown account and wrong kind are usage errors" {
	run crm-sync --imap nobody@example.org
	[ "$status" -eq 2 ]
	[[ "$output" == *"no account nobody@example.org"* ]]
	crm-account add kind@example.org --kind imap --host h --password-file "$(secret_file p)"
	run crm-sync --gmail kind@example.org
	[ "$status" -eq 2 ]
	[[ "$output" == *"is a imap account: use --imap"* ]]
	run crm-sync --imap kind@example.org --maildir /tmp
	[ "$status" -eq 2 ]
	run crm-sync --maildir /tmp --limit 3
	[ "$status" -eq 2 ]
}

@test "sealed credentials do not open under another key, moved to another account, or tampered with" {
	crm-account add s1@example.org --kind imap --host 127.0.0.1 --port 1 --password-file "$(secret_file one)"
	crm-account add s2@example.org --kind imap --host 127.0.0.1 --port 1 --password-file "$(secret_file two)"
	# another key
	k2="$BATS_TEST_TMPDIR/k2"
	crm-account keygen "$k2"
	CRM_SECRET_KEY_FILE=$k2 run crm-sync --imap s1@example.org
	[ "$status" -eq 3 ]
	[[ "$output" == *"sealed under another key"* ]]
	# s2's blob copied onto s1
	pg_q "update mail_accounts set credentials = (select credentials from mail_accounts where address = 's2@example.org') where address = 's1@example.org'"
	run crm-sync --imap s1@example.org
	[ "$status" -eq 3 ]
	[[ "$output" == *"fail authentication"* ]]
	# one flipped byte
	pg_q "update mail_accounts set credentials = set_byte(credentials, 20, get_byte(credentials, 20) # 1) where address = 's2@example.org'"
	run crm-sync --imap s2@example.org
	[ "$status" -eq 3 ]
	[[ "$output" == *"fail authentication"* ]]
	[[ "$output" != *"two"* ]]
}

@test "usage: unknown command, missing address" {
	run crm-account frobnicate x
	[ "$status" -eq 2 ]
	run crm-account show
	[ "$status" -eq 2 ]
	run crm-account
	[ "$status" -eq 2 ]
}
