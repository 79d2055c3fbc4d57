#!/usr/bin/env bats
# make demo (scripts/demo): the whole pipeline over the shipped sample mail
# into a fresh private cluster, and its summary.  Run in a copy of the build
# directory's layout so that the developer's build/demo is left alone.

load helper

setup() {
	B=$(mktemp -d /tmp/crmdemo.XXXXXX)
	chmod 755 "$B"
	ln -s "$CRM_BUILD/bin" "$B/bin"
}

teardown() {
	CRM_HOME=$B/demo crm-db -q destroy --yes >/dev/null 2>&1 || true
	rm -rf "$B"
}

@test "the demo loads the sample CRM, runs the pipeline and summarises" {
	run "$CRM_TOP/scripts/demo" "$B"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[[ "$output" == *"pipeline: crm-sync | "*"crm-store"* ]]
	[[ "$output" == *"messages      44 stored: 28 received, 16 sent"* ]]
	[[ "$output" =~ people\ +16\ \(10\ found\ in\ the\ mail\)\;\ organisations\ 10\ \(3\ new\) ]]
	[[ "$output" == *"Anne Schmitt"*"Banque Rhénane"* ]]
	[[ "$output" == *"Done in"* ]]
	# the cluster is left stopped, with the data, and starts again on demand
	n=$(CRM_HOME=$B/demo crm-db psql -qAtX -c 'select count(*) from interactions')
	[ "$n" = 44 ]
	# a second run starts afresh: same figures
	run "$CRM_TOP/scripts/demo" "$B"
	[ "$status" -eq 0 ]
	[[ "$output" == *"messages      44 stored"* ]]
}

@test "the sample mailbox is what the demo promises: 40-odd messages, threads of 2 to 5" {
	n=$(find "$FIX/sample/Maildir" -type f | wc -l)
	[ "$n" -ge 40 ]
	run sh -c "crm-sync --maildir '$FIX/sample/Maildir' -r --account sales@valmont-am.fr | jq -r '.subject' | sed -E 's/^((re|RE|Re|tr|TR|Fwd|FW|Auto-reply|Réponse automatique) ?: ?)+//' | sort | uniq -c | sort -rn | head -n 1"
	[[ "$output" =~ ^\ *[2-5]\  ]]
}
