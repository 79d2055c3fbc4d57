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
	first=$(printf '%s\n' "$output" | grep -E '^  (applied|to review) ')
	run "$CRM_TOP/scripts/demo" "$B"
	[ "$status" -eq 0 ]
	[[ "$output" == *"messages      44 stored"* ]]
	[ "$(printf '%s\n' "$output" | grep -E '^  (applied|to review) ')" = "$first" ]
}

dq() {
	CRM_HOME=$B/demo crm-db psql -qAtX -c "$1"
}

@test "the demo ends with autofill applied, the review queue listed and the commands to decide" {
	run "$CRM_TOP/scripts/demo" "$B"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# every stored message went through autofill, in one run
	[ "$(dq "select count(*) from interactions where autofilled_at is null")" = 0 ]
	[ "$(dq "select count(*) || ' ' || min(status) from autofill_runs")" = "1 done" ]
	run_id=$(dq "select id from autofill_runs")
	[[ "$output" == *"Autofill (crm-autofill, run $run_id): 44 messages read"* ]]
	# values applied: the count said is the count audited, and more than none
	[[ "$output" =~ applied\ +([0-9]+)\ values\ at\ confidence\ \>=\ 0\.92 ]]
	applied=${BASH_REMATCH[1]}
	[ "$applied" -gt 0 ]
	[ "$(dq "select count(*) from autofill_changes where run_id = $run_id")" = "$applied" ]
	# the strongest of them listed with who, field, value, confidence: the
	# first line is the applied value of highest confidence
	top=$(dq "select c.field || ' ' || c.new_value || ' ' || to_char(c.confidence, 'FM0.00')
	    from autofill_changes c order by c.confidence desc, c.id limit 1")
	line=$(printf '%s\n' "$output" | grep -A1 -E '^  to review ' | tail -n 1 | tr -s ' ')
	[[ "$line" == *" $top" ]]
	# the review queue: its count, the table of crm-review list, conflicts in it
	[[ "$output" =~ Review\ queue:\ ([0-9]+)\ suggestions\ waiting ]]
	pending=${BASH_REMATCH[1]}
	[ "$pending" -gt 0 ]
	[ "$(dq "select count(*) from autofill_suggestions where status = 'pending'")" = "$pending" ]
	[[ "$output" == *"    ID  AGE  ENTITY "*" FIELD "*" VALUE "*" CURRENT "*" CONF "* ]]
	rows=$(printf '%s\n' "$output" | grep -cE '^ +[0-9]+ +[0-9]+d +(person|organisation):[0-9]+ ')
	[ "$rows" -gt 0 ]
	[ "$rows" -le 10 ]
	[ "$rows" -eq "$pending" ] || [[ "$output" == *"... and $((pending - rows)) more"* ]]
	# a firm that moved and a man who changed desks: conflicts, never
	# overwritten; an address that only adds the country is the same one
	[ "$(dq "select count(*) from autofill_suggestions where status = 'pending' and current_value is not null")" -ge 2 ]
	[ "$(dq "select address from organisations where domain = 'morel-patrimoine.fr'")" = "8 place Bellecour, 69002 Lyon" ]
	[ "$(dq "select count(*) from autofill_suggestions s join organisations o on o.id = s.entity_id
	    where s.entity_type = 'organisation' and o.domain = 'mutuelle-atlantique.fr' and s.field = 'address'")" = 0 ]
	# the commands it gives work as it says
	[[ "$output" =~ crm-review\ approve\ ([0-9]+)\ \.\.\. ]]
	approve=${BASH_REMATCH[1]}
	[[ "$output" =~ crm-review\ reject\ ([0-9]+)\ \.\.\. ]]
	reject=${BASH_REMATCH[1]}
	[[ "$output" == *"crm-autofill --undo $run_id "* ]]
	[ "$(dq "select count(*) from autofill_suggestions where id = $approve and current_value is not null")" = 1 ]
	export CRM_HOME=$B/demo CRM_USER=paul
	run crm-review approve "$approve"
	[ "$status" -eq 0 ]
	run crm-review reject "$reject"
	[ "$status" -eq 0 ]
	[ "$(dq "select status from autofill_suggestions where id in ($approve, $reject) order by id = $reject")" = "approved
rejected" ]
	[ "$(dq "select count(*) from autofill_changes where run_id = $run_id and undone_at is null")" = "$applied" ]
	run crm-autofill --undo "$run_id"
	[ "$status" -eq 0 ]
	[ "$(dq "select count(*) from autofill_changes where run_id = $run_id and undone_at is not null")" = "$applied" ]
	crm-db -q stop
}

@test "the sample mailbox is what the demo promises: 40-odd messages, threads of 2 to 5" {
	n=$(find "$FIX/sample/Maildir" -type f | wc -l)
	[ "$n" -ge 40 ]
	run sh -c "crm-sync --maildir '$FIX/sample/Maildir' -r --account sales@valmont-am.fr | jq -r '.subject' | sed -E 's/^((re|RE|Re|tr|TR|Fwd|FW|Auto-reply|Réponse automatique) ?: ?)+//' | sort | uniq -c | sort -rn | head -n 1"
	[[ "$output" =~ ^\ *[2-5]\  ]]
}
