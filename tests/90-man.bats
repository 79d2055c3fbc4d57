#!/usr/bin/env bats
# Manual pages: mandoc lint clean, every program has one, and every command
# in an EXAMPLES literal block ("$ cmd") runs and exits 0 — in a temporary
# copy of tests/fixtures/man, with a throwaway PostgreSQL for the examples
# that need one.

load helper
load pg

setup_file() {
	pg_start
	if command -v crm-db >/dev/null; then crm-db migrate >/dev/null; fi
}

teardown_file() {
	pg_stop
}

# examples PAGE: the "$ " commands of its EXAMPLES section, one per line
examples() {
	mandoc -Tascii -O width=1000 "$1" | col -b | awk '
		/^[A-Z][A-Z ]*$/ { inex = ($0 == "EXAMPLES"); next }
		inex && /^[ \t]+\$ / { sub(/^[ \t]+\$ /, ""); print }'
}

@test "every manual page is mandoc -Tlint clean (warnings and above)" {
	for m in "$CRM_TOP"/man/*.[157]; do
		run mandoc -Tlint -W warning "$m"
		[ "$status" -eq 0 ] || { echo "$m: $output"; return 1; }
	done
}

@test "every program has a manual page, and crm(7) and crm-record(5) exist" {
	[ -f "$CRM_TOP/man/crm.7" ]
	[ -f "$CRM_TOP/man/crm-record.5" ]
	for p in "$CRM_BUILD"/bin/crm-*; do
		n=$(basename "$p")
		[ -f "$CRM_TOP/man/$n.1" ] || { echo "no man/$n.1"; return 1; }
	done
}

@test "the EXAMPLES of every manual page run and exit 0" {
	n=0
	for m in "$CRM_TOP"/man/*.[157]; do
		while IFS= read -r cmd; do
			[ -n "$cmd" ] || continue
			d=$(mktemp -d "$BATS_TEST_TMPDIR/ex.XXXXXX")
			cp -R "$CRM_TOP/tests/fixtures/man/." "$d/"
			run sh -c "cd '$d' && $cmd"
			if [ "$status" -ne 0 ]; then
				printf '%s: example failed (exit %s):\n  %s\n%s\n' "$(basename "$m")" "$status" "$cmd" "$output"
				return 1
			fi
			n=$((n + 1))
		done <<EOF2
$(examples "$m")
EOF2
	done
	echo "$n examples ran"
	[ "$n" -gt 0 ]
}
