#!/usr/bin/env bats
# The accuracy gate of autofill (issue 6): the labelled signature corpus
# (tests/fixtures/signatures) goes through the real pipeline into an empty
# database of a throwaway cluster, crm-store makes the CRM of its senders,
# crm-autofill runs at the default threshold, and every value it applied is
# checked against the label of its source message by tests/bench/
# score-autofill: at least 97% of them must be right.

load helper

setup_file() {
	load pg
	pg_start
}

teardown_file() {
	load pg
	pg_stop
}

setup() {
	load pg
	DB=acc$BATS_SUITE_TEST_NUMBER
	pg_fresh_db "$DB"
	crm-db -q migrate
	SCORE=$CRM_TOP/tests/bench/score-autofill
}

@test "the values autofill applies to the signature corpus are right at least 97% of the time" {
	run "$SCORE" --min-precision 0.97 --min-applied 40 --errors
	echo "$output"
	[ "$status" -eq 0 ]
	# the figures it printed are the database's: every applied value of
	# the run is counted, and precision is right / applied
	[[ "$output" =~ autofill\ over\ ([0-9]+)\ labelled\ messages:\ ([0-9]+)\ values\ applied ]]
	[ "${BASH_REMATCH[1]}" -ge 150 ]
	applied=${BASH_REMATCH[2]}
	[ "$(pg_q "select count(*) from autofill_changes where run_id is not null")" = "$applied" ]
	[[ "$output" =~ all\ +([0-9]+)\ +([0-9]+)\ +([0-9.]+) ]]
	[ "${BASH_REMATCH[1]}" = "$applied" ]
	awk -v r="${BASH_REMATCH[2]}" -v a="$applied" 'BEGIN { exit !(a > 0 && r / a >= 0.97) }'
	# nothing applied is below the threshold it was applied at
	[ "$(pg_q "select count(*) from autofill_changes where confidence < 0.92")" = 0 ]
}

@test "the gate fails when the applied values disagree with the labels" {
	# the same corpus, its mobile numbers labelled otherwise: the values
	# autofill applies from the signatures are now counted wrong
	jq -c 'if .fields.mobile then .fields.mobile = "+33100000000" else . end' \
	    "$FIX/signatures/labels.jsonl" >"$BATS_TEST_TMPDIR/labels.jsonl"
	run "$SCORE" --labels "$BATS_TEST_TMPDIR/labels.jsonl" --min-precision 0.97 --json
	[ "$status" -eq 1 ]
	[[ "$output" == *"precision"*"< 0.97"* ]]
	printf '%s\n' "$output" | grep '^{' | jq -e '.fields["person.mobile"].right == 0 and .precision < 0.97' >/dev/null
}

@test "the scorer refuses a database that already holds mail" {
	"$SCORE" >/dev/null
	run "$SCORE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already holds interactions"* ]]
}
