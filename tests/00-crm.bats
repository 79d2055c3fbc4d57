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

@test "make install puts programs, rules, sql and manual pages under DESTDIR, and the installed programs find their data" {
	d=$BATS_TEST_TMPDIR/root
	run make -s -C "$CRM_TOP" B="$CRM_BUILD" install DESTDIR="$d" PREFIX=/opt/crm
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	for p in crm crm-sync crm-thread crm-parse-signature crm-intent crm-store crm-db crm-autofill; do
		[ -x "$d/opt/crm/bin/$p" ] || { echo "missing bin/$p"; return 1; }
	done
	[ -e "$d/opt/crm/share/crm/rules/intent/intent.rules" ]
	ls "$d"/opt/crm/share/crm/sql/001_*.sql >/dev/null
	[ -e "$d/opt/crm/share/man/man1/crm-sync.1" ]
	[ -e "$d/opt/crm/share/man/man5/crm-record.5" ]
	[ -e "$d/opt/crm/share/man/man7/crm.7" ]
	# no source tree in sight: the data is found next to the programs
	rec='{"v":1,"id":"t","from":{"name":"Paul Martin","email":"paul@martin-courtage.fr"},"subject":"Rendez-vous","text":"Bonjour,\n\nPouvons-nous nous voir mardi prochain à 10h ?\n\nCordialement,\nPaul Martin\nCourtier\nTél. 06 12 34 56 78"}'
	out=$(printf '%s\n' "$rec" | env -u CRM_DATADIR -u CRM_RULES_DIR "$d/opt/crm/bin/crm-parse-signature" |
	    env -u CRM_DATADIR -u CRM_RULES_DIR "$d/opt/crm/bin/crm-intent")
	jq_is .signature.fields.mobile "+33612345678" "$out"
	jq_is .intent.label meeting_request "$out"
}
