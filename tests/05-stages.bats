#!/usr/bin/env bats
# The JSON-lines contract (crm-record(5), DESIGN.md §2) for every stage
# that reads records: bad lines are rejected with their line number and
# kept whole, the run goes on, unknown keys pass through byte for byte.

load helper

STAGES="crm-thread crm-parse-signature crm-intent"

setup_file() {
	crm-sync --maildir "$BATS_TEST_DIRNAME/fixtures/sync/Maildir" \
	    >"$BATS_FILE_TMPDIR/good.jsonl" 2>/dev/null || true
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	GOOD="$BATS_FILE_TMPDIR/good.jsonl"
}

stages() {
	for s in $STAGES; do command -v "$s" >/dev/null && echo "$s"; done
}

@test "there is at least one stage to check" {
	[ -n "$(stages)" ]
}

@test "a malformed line is rejected with its line number; the other records come out; exit 1" {
	head -n 2 "$GOOD" >in.jsonl
	printf '{"v":1, this is not json\n' >>in.jsonl
	sed -n 3p "$GOOD" >>in.jsonl
	for s in $(stages); do
		run --separate-stderr "$s" --rejects rej.jsonl in.jsonl
		[ "$status" -eq 1 ] || { echo "$s: status $status"; return 1; }
		[ "$(printf '%s\n' "$output" | grep -c .)" -eq 3 ] || { echo "$s: $output"; return 1; }
		[[ "$stderr" == *"in.jsonl:3: "* ]] || { echo "$s: $stderr"; return 1; }
		grep -qx '{"v":1, this is not json' rej.jsonl
		rm -f rej.jsonl
	done
}

@test "rejects go to stderr whole when no --rejects is given" {
	for s in $(stages); do
		run --separate-stderr sh -c "printf '[1,2]\n' | $s"
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"<stdin>:1: not a JSON object"* ]]
		[[ "$stderr" == *"[1,2]"* ]]
	done
}

@test "invalid UTF-8 inside a JSON string is a reject, not a crash" {
	printf '{"v":1,"text":"caf\xe9"}\n' >bad.jsonl
	for s in $(stages); do
		run --separate-stderr "$s" --rejects rej.jsonl bad.jsonl
		[ "$status" -eq 1 ] || { echo "$s: $status $stderr"; return 1; }
		[ -z "$output" ]
		[ "$(wc -l <rej.jsonl)" -eq 1 ]
		rm -f rej.jsonl
	done
}

@test "a line longer than --max-line is rejected whole and the next line is read" {
	{ head -n 1 "$GOOD"; printf '{"v":1,"text":"%s"}\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; sed -n 2p "$GOOD"; } >in.jsonl
	for s in $(stages); do
		run --separate-stderr "$s" --max-line 4096 --rejects rej.jsonl in.jsonl
		[ "$status" -eq 1 ] || { echo "$s: $status"; return 1; }
		[ "$(printf '%s\n' "$output" | grep -c .)" -eq 2 ]
		[[ "$stderr" == *"in.jsonl:2: line longer than 4096 bytes"* ]]
		[ "$(wc -c <rej.jsonl)" -eq "$(sed -n 2p in.jsonl | wc -c)" ]
		rm -f rej.jsonl
	done
}

@test "unknown keys pass through byte for byte; blank lines are skipped; empty input gives nothing" {
	line='{"zz_custom": {"b":  [1, 2.50, "\u00e9\/x"]}, "v":1, "id":"x1", "text":"Bonjour", "subject":"t"}'
	printf '\n%s\n\n' "$line" >in.jsonl
	for s in $(stages); do
		run --separate-stderr "$s" in.jsonl
		[ "$status" -eq 0 ] || { echo "$s: $status $stderr"; return 1; }
		[ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ]
		# the input line minus its closing brace is a prefix of the output line
		case "$output" in "${line%\}}"*) ;; *) echo "$s changed the line: $output"; return 1 ;; esac
		run "$s" </dev/null
		[ "$status" -eq 0 ] && [ -z "$output" ]
	done
}

@test "an output error is exit 3" {
	[ -w /dev/full ] || skip "no /dev/full"
	for s in $(stages); do
		run sh -c "$s '$GOOD' >/dev/full"
		[ "$status" -eq 3 ] || { echo "$s: $status $output"; return 1; }
	done
}

@test "an unreadable input file is named and the other inputs are read" {
	for s in $(stages); do
		run --separate-stderr "$s" nonexistent.jsonl "$GOOD"
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"nonexistent.jsonl: No such file or directory"* ]]
		[ "$(printf '%s\n' "$output" | grep -c .)" -eq "$(grep -c . "$GOOD")" ]
	done
}
