#!/usr/bin/env bats
# The dispatcher and the conventions every program shares.

load helper

@test "crm help lists the programs with a description" {
	run crm help
	[ "$status" -eq 0 ]
	[[ "$output" == *"sync "*"pull mail"* ]]
}

@test "crm NAME runs crm-NAME with its arguments" {
	run crm sync --version
	[ "$status" -eq 0 ]
	[[ "$output" == "crm-sync "* ]]
}

@test "crm with an unknown program exits 2 and says so" {
	run crm no-such-program
	[ "$status" -eq 2 ]
	[[ "$output" == *"no-such-program"*"not a crm program"* ]]
}

@test "every program answers --help and --version, and rejects unknown options with 2" {
	for p in "$CRM_BUILD"/bin/crm-*; do
		[ -x "$p" ] || continue
		case $(head -c 2 "$p") in '#!') continue ;; esac   # scripts have their own tests
		run "$p" --help
		[ "$status" -eq 0 ] || { echo "$p --help: $status"; return 1; }
		[[ "$output" == usage:* ]] || { echo "$p --help: $output"; return 1; }
		run "$p" --version
		[ "$status" -eq 0 ]
		run "$p" --no-such-option
		[ "$status" -eq 2 ] || { echo "$p --no-such-option: $status"; return 1; }
	done
}

@test "a program whose stdout is full exits non-zero" {
	[ -w /dev/full ] || skip "no /dev/full"
	printf 'From: a@b.c\nSubject: x\n\nhello\n' >"$BATS_TEST_TMPDIR/m.eml"
	run sh -c "crm-sync '$BATS_TEST_TMPDIR/m.eml' >/dev/full"
	[ "$status" -eq 3 ]
	[[ "$output" == *"error writing standard output"* ]]
}
