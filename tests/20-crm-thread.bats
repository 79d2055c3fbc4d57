#!/usr/bin/env bats
# crm-thread: JWZ threading of message records, the "thread" key, --tree.
# Fixtures in tests/fixtures/thread/; expected thread ids are computed here
# with sha256sum, independently of the program.

load helper

T="$BATS_TEST_DIRNAME/fixtures/thread"

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# thread_of ID [JSON]: "depth root_message_id subject" of the record with "id" ID
thread_of() {
	printf '%s' "${2-$output}" | jq -r --arg id "$1" \
	    'select(.id == $id) | .thread | "\(.depth) \(.root_message_id) \(.subject)"'
}
# tid_of ID [JSON]: the thread id of the record with "id" ID
tid_of() {
	printf '%s' "${2-$output}" | jq -r --arg id "$1" 'select(.id == $id) | .thread.id'
}

@test "replies: References and In-Reply-To build one thread; depth, root, subject, id" {
	run crm-thread "$T/replies.jsonl"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 6 ]
	[ "$(thread_of r1)" = "0 a@ex.fr Demande de devis" ]
	[ "$(thread_of r2)" = "1 a@ex.fr Demande de devis" ]
	[ "$(thread_of r3)" = "2 a@ex.fr Demande de devis" ]
	[ "$(thread_of r4)" = "1 a@ex.fr Demande de devis" ]     # In-Reply-To only
	[ "$(thread_of r5)" = "2 a@ex.fr Demande de devis" ]     # References only, <...>
	[ "$(thread_of r6)" = "0 other@ex.fr Invitation salon" ]
	a=$(sha a@ex.fr)
	for r in r1 r2 r3 r4 r5; do [ "$(tid_of $r)" = "$a" ]; done
	[ "$(tid_of r6)" = "$(sha other@ex.fr)" ]
}

@test "records come out in input order with every other key passed through byte for byte" {
	run crm-thread "$T/replies.jsonl"
	[ "$status" -eq 0 ]
	jq_is '.id' "$(printf 'r1\nr2\nr3\nr4\nr5\nr6')"
	# each output line is its input line with ,"thread":{...} before the last brace
	paste -d '\t' "$T/replies.jsonl" <(printf '%s\n' "$output") | while IFS=$'\t' read -r in out; do
		[ "${out:0:$((${#in} - 1))}" = "${in%\}}" ] || { echo "changed: $in"; return 1; }
		[[ "${out:$((${#in} - 1))}" == ',"thread":{'*'}}' ]] || { echo "tail: $out"; return 1; }
	done
	# the escapes of unknown keys are untouched
	[[ "$output" == *'"keep":[1,2.50,"\u00e9t\u00e9","\/"]'* ]]
}

@test "missing parents: a dummy root named by the first reference, kept even for one reply" {
	run crm-thread "$T/missing.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of m1)" = "1 gone@ex.fr Offre" ]
	[ "$(thread_of m2)" = "1 gone@ex.fr Offre" ]
	[ "$(tid_of m1)" = "$(sha gone@ex.fr)" ]
	# two missing ancestors: the intermediate dummy is pruned
	[ "$(thread_of m3)" = "1 lost-root@ex.fr Planning" ]
	[ "$(thread_of m4)" = "2 lost-root@ex.fr Planning" ]
	[ "$(thread_of m5)" = "1 alone@ex.fr Seul" ]
	[ "$(tid_of m5)" = "$(sha alone@ex.fr)" ]
}

@test "the thread id does not change when the missing root arrives later" {
	before=$(crm-thread "$T/missing.jsonl")
	{ cat "$T/missing.jsonl"
	  echo '{"id":"g","message_id":"gone@ex.fr","subject":"Offre","date":"2024-12-31T00:00:00Z"}'
	} >"$BATS_TEST_TMPDIR/more.jsonl"
	run crm-thread "$BATS_TEST_TMPDIR/more.jsonl"
	[ "$status" -eq 0 ]
	for r in m1 m2 m3 m4 m5; do
		[ "$(tid_of $r)" = "$(tid_of $r "$before")" ]
		[ "$(thread_of $r)" = "$(thread_of $r "$before")" ]
	done
	[ "$(thread_of g)" = "0 gone@ex.fr Offre" ]
}

@test "References loops never create a cycle: every message gets a finite depth" {
	run crm-thread "$T/loops.jsonl"
	[ "$status" -eq 0 ]
	[ "$(tid_of l1)" = "$(tid_of l2)" ]
	[ "$(printf '%s\n' "$output" | jq -s '[.[] | select(.id == "l1" or .id == "l2") | .thread.depth] | sort')" = "$(printf '[\n  0,\n  1\n]')" ]
	t3=$(tid_of l3)
	[ "$(tid_of l4)" = "$t3" ] && [ "$(tid_of l5)" = "$t3" ]
	[ "$(printf '%s\n' "$output" | jq -s '[.[] | select(.id | startswith("l")) | .thread.depth] | max')" -le 2 ]
	run crm-thread --tree "$T/loops.jsonl"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
}

@test "a message's own parent wins over References another client wrote out of order" {
	# p1 lists b before a, presuming a is b's child; b itself says its
	# parent is a: b's word cuts the presumed link instead of being dropped
	run crm-thread --subject none "$T/presumed.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of p3)" = "0 a@ex.fr Projet" ]
	[ "$(thread_of p2)" = "1 a@ex.fr Projet" ]
	[ "$(thread_of p1)" = "1 a@ex.fr Projet" ]
	[ "$(tid_of p1)" = "$(sha a@ex.fr)" ]
}

@test "self-references are ignored" {
	run crm-thread "$T/self.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of s1)" = "0 self@ex.fr Moi-même" ]
	[ "$(thread_of s2)" = "1 p@ex.fr x" ]
}

@test "duplicate Message-IDs: the second message gets its own container, replies go to the first" {
	run crm-thread "$T/dups.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of d1)" = "0 dup@ex.fr Tarifs 2025" ]
	[ "$(thread_of d2)" = "0 dup@ex.fr Tarifs 2025" ]
	[ "$(thread_of d3)" = "1 dup@ex.fr Tarifs 2025" ]
	[ "$(tid_of d1)" = "$(sha dup@ex.fr)" ] && [ "$(tid_of d2)" = "$(sha dup@ex.fr)" ]
	[ "$(thread_of d4)" = "1 p2@ex.fr Commande" ]
	[ "$(thread_of d5)" = "1 p2@ex.fr Commande" ]
	run crm-thread --tree "$T/dups.jsonl"
	[ "$(printf '%s\n' "$output" | grep -c 'Tarifs 2025')" -eq 3 ]
}

@test "no Message-ID: a container keyed by the record id (or the line itself)" {
	run crm-thread "$T/nomid.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of n1)" = "0 null Sans identifiant" ]
	[ "$(tid_of n1)" = "$(sha n1)" ]
	[ "$(thread_of n2)" = "1 a@ex.fr Demande de devis" ]
	[ "$(thread_of n4)" = "0 null Identifiant vide" ]
	line3=$(sed -n 3p "$T/nomid.jsonl")
	got=$(printf '%s\n' "$output" | sed -n 3p | jq -r .thread.id)
	[ "$got" = "$(sha "$(sha "$line3")")" ]
}

@test "subject grouping (default reply mode): replies without headers join; two originals do not" {
	run crm-thread "$T/subject.jsonl"
	[ "$status" -eq 0 ]
	s1=$(tid_of s1)
	[ "$s1" = "$(sha s1@ex.fr)" ]
	[ "$(thread_of s2)" = "1 s1@ex.fr Demande de devis" ]
	[ "$(thread_of s3)" = "1 s1@ex.fr Demande de devis" ]   # Réf. :, other case
	[ "$(thread_of s4)" = "0 s4@ex.fr Demande de devis" ]
	# empty subjects, also after normalisation, never group
	[ "$(thread_of s5)" = "0 s5@ex.fr " ]
	[ "$(thread_of s6)" = "0 s6@ex.fr " ]
	[ "$(thread_of s7)" = "0 s7@ex.fr " ]
	ids=$(printf '%s\n' "$output" | jq -r 'select(.id == "s5" or .id == "s6" or .id == "s7") | .thread.id' | sort -u | wc -l)
	[ "$ids" -eq 3 ]
	# a reply whose subject has a list tag joins the dummy root of the same subject
	[ "$(thread_of s8)" = "1 gone@ex.fr Serveur en panne" ]
	[ "$(thread_of s9)" = "1 gone@ex.fr Serveur en panne" ]
}

@test "subject grouping: --subject all gathers originals under a dummy, --subject none never groups" {
	run crm-thread --subject all "$T/subject.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of s1)" = "1 s1@ex.fr Demande de devis" ]
	[ "$(thread_of s2)" = "2 s1@ex.fr Demande de devis" ]
	[ "$(thread_of s4)" = "1 s1@ex.fr Demande de devis" ]
	[ "$(tid_of s4)" = "$(sha s1@ex.fr)" ]
	run crm-thread --subject none "$T/subject.jsonl"
	[ "$status" -eq 0 ]
	[ "$(thread_of s2)" = "0 s2@ex.fr Demande de devis" ]
	[ "$(thread_of s8)" = "0 s8@ex.fr Serveur en panne" ]
	CRM_THREAD_SUBJECT=none run crm-thread "$T/subject.jsonl"
	[ "$(thread_of s2)" = "0 s2@ex.fr Demande de devis" ]
	run crm-thread --subject sometimes "$T/subject.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--subject"*"sometimes"* ]]
}

@test "French, English, German and other prefixes, counters and list tags are normalised" {
	while IFS='|' read -r subj want; do
		jq -cn --arg s "$subj" '{id: "x", message_id: "p@x", subject: $s}'
	done <"$T/prefixes.txt" >"$BATS_TEST_TMPDIR/p.jsonl"
	run crm-thread --subject none "$BATS_TEST_TMPDIR/p.jsonl"
	[ "$status" -eq 0 ]
	paste -d '\n' <(cut -d'|' -f2 "$T/prefixes.txt") <(printf '%s\n' "$output" | jq -r .thread.subject) |
	while IFS= read -r want && IFS= read -r got; do
		[ "$got" = "$want" ] || { echo "want '$want' got '$got'"; return 1; }
	done
}

@test "out-of-order input gives the same threads as in-order input" {
	cat "$T"/replies.jsonl "$T"/missing.jsonl "$T"/dups.jsonl "$T"/subject.jsonl >"$BATS_TEST_TMPDIR/in.jsonl"
	tac "$BATS_TEST_TMPDIR/in.jsonl" >"$BATS_TEST_TMPDIR/rev.jsonl"
	a=$(crm-thread "$BATS_TEST_TMPDIR/in.jsonl" | jq -c '[.id, .thread.id, .thread.depth, .thread.root_message_id]' | sort)
	b=$(crm-thread "$BATS_TEST_TMPDIR/rev.jsonl" | jq -c '[.id, .thread.id, .thread.depth, .thread.root_message_id]' | sort)
	[ "$a" = "$b" ]
	# and the records still come out in their own input order
	[ "$(crm-thread "$BATS_TEST_TMPDIR/rev.jsonl" | jq -r .id)" = "$(jq -r .id "$BATS_TEST_TMPDIR/rev.jsonl")" ]
}

@test "thread ids are kept when the mail grows, as long as the root is the same" {
	crm-thread "$T/replies.jsonl" | jq -c '[.id, .thread.id]' >"$BATS_TEST_TMPDIR/small"
	cat "$T"/missing.jsonl "$T"/replies.jsonl "$T"/subject.jsonl | crm-thread | jq -c '[.id, .thread.id]' |
	    grep -F -f "$BATS_TEST_TMPDIR/small" >"$BATS_TEST_TMPDIR/big"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/big")" -eq 6 ]
}

@test "re-running over its own output replaces the thread key with equal values" {
	crm-thread "$T/replies.jsonl" >"$BATS_TEST_TMPDIR/once"
	run crm-thread "$BATS_TEST_TMPDIR/once"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -S -c .)" = "$(jq -S -c . "$BATS_TEST_TMPDIR/once")" ]
	[ "$(printf '%s\n' "$output" | grep -o '"thread"' | wc -l)" -eq 6 ]
}

@test "standard input, a pipe, several files and the - operand agree" {
	want=$(cat "$T/replies.jsonl" "$T/missing.jsonl" | crm-thread -j 1 /dev/stdin 2>&1)
	run crm-thread "$T/replies.jsonl" "$T/missing.jsonl"
	[ "$output" = "$want" ]
	run sh -c "crm-thread <'$T/replies.jsonl'"
	[ "$output" = "$(crm-thread "$T/replies.jsonl")" ]
	run sh -c "cat '$T/missing.jsonl' | crm-thread '$T/replies.jsonl' -"
	[ "$output" = "$want" ]
}

@test "--tree prints one indented line per message, with sender and date, dummies shown" {
	run crm-thread --tree "$T/replies.jsonl" "$T/missing.jsonl"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | sed -n 1p)" = "<gone@ex.fr>  (not in the input)" ]
	[[ "$output" == *$'\n'"Demande de devis  (Dalila Jibou <dalila@example.fr>, 2025-10-30 09:00)"$'\n'"  RE : Demande de devis  (Bob Martin <bob@vendor.com>, 2025-10-30 10:00)"$'\n'"    Re: RE : Demande de devis  (Dalila Jibou <dalila@example.fr>, 2025-10-30 10:00)"* ]]
	[[ "$output" == *$'\n'"  TR: Demande de devis  (achats@example.fr, 2025-10-30 12:00)"* ]]
	[ "$(printf '%s\n' "$output" | grep -vc 'not in the input')" -eq 11 ]
	# control characters from the data never reach the terminal
	printf '{"message_id":"z@x","subject":"a\\u001b[31mred\\u0007","from":"x"}\n' | crm-thread --tree >"$BATS_TEST_TMPDIR/t"
	! grep -q $'\033' "$BATS_TEST_TMPDIR/t"
}

@test "malformed lines and keys of the wrong type are rejected with their line; the rest goes on" {
	run crm-thread --rejects "$BATS_TEST_TMPDIR/rej" "$T/malformed.jsonl"
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" | grep -v '^crm-thread:' >"$BATS_TEST_TMPDIR/out"
	[ "$(jq -r .id "$BATS_TEST_TMPDIR/out")" = "$(printf 'ok1\nok2\nok3')" ]
	[ "$(jq -r "\"\\(.thread.depth) \\(.thread.root_message_id)\"" "$BATS_TEST_TMPDIR/out" | tr "\\n" " ")" = "0 ok1@x 1 ok1@x 2 ok1@x " ]
	for l in 2 3 4 5 6 7 9 11 12; do
		[[ "$output" == *"crm-thread: $T/malformed.jsonl:$l: "* ]] || { echo "no message for line $l"; return 1; }
	done
	[[ "$output" == *":4: \"message_id\" is not a string"* ]]
	[[ "$output" == *":5: \"references\" is not an array of strings"* ]]
	[[ "$output" == *":6: \"references\" is not an array of strings"* ]]
	[[ "$output" == *":7: \"in_reply_to\" is not a string"* ]]
	[[ "$output" == *":9: invalid utf-8"* ]]
	[[ "$output" == *":11: \"subject\" is not a string"* ]]
	# the rejects file holds each rejected line whole
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej")" -eq 9 ]
	sed -n '2,7p;9p;11,12p' "$T/malformed.jsonl" | cmp - "$BATS_TEST_TMPDIR/rej"
}

@test "a line over --max-line is rejected whole, and reading goes on" {
	{ echo '{"id":"a","message_id":"a@x","subject":"s"}'
	  printf '{"id":"big","text":"%s"}\n' "$(head -c 5000 /dev/zero | tr '\0' x)"
	  echo '{"id":"b","message_id":"b@x","in_reply_to":"a@x"}'
	} >"$BATS_TEST_TMPDIR/long.jsonl"
	run crm-thread --max-line 1k --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/long.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"long.jsonl:2: line longer than 1024 bytes"* ]]
	[ "$(printf '%s\n' "$output" | grep -v '^crm-thread:' | jq -r '"\(.id) \(.thread.depth)"')" = "$(printf 'a 0\nb 1')" ]
	sed -n 2p "$BATS_TEST_TMPDIR/long.jsonl" | cmp - "$BATS_TEST_TMPDIR/rej"
}

@test "empty input, blank lines, a missing file, a directory" {
	run crm-thread /dev/null
	[ "$status" -eq 0 ] && [ -z "$output" ]
	printf '\n  \n{"id":"a","message_id":"a@x"}\n\n' >"$BATS_TEST_TMPDIR/b.jsonl"
	run crm-thread "$BATS_TEST_TMPDIR/b.jsonl"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r .thread.depth)" = 0 ]
	run crm-thread "$BATS_TEST_TMPDIR/nope.jsonl" "$BATS_TEST_TMPDIR/b.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"crm-thread: $BATS_TEST_TMPDIR/nope.jsonl: No such file or directory"* ]]
	[[ "$output" == *'"thread":'* ]]
	run crm-thread "$BATS_TEST_TMPDIR"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Is a directory"* ]]
}

@test "a full standard output is an environment error (exit 3)" {
	[ -w /dev/full ] || skip "no /dev/full"
	run sh -c "crm-thread '$T/replies.jsonl' >/dev/full"
	[ "$status" -eq 3 ]
	[[ "$output" == *"error writing standard output"* ]]
	run sh -c "crm-thread --tree '$T/replies.jsonl' >/dev/full"
	[ "$status" -eq 3 ]
}

@test "parser threads: -j 1 and -j 4 give byte-identical output over many chunks" {
	# ~3 MiB: crosses several 1 MiB chunk boundaries, with long lines
	awk 'BEGIN {
		pad = sprintf("%0900d", 0)
		for (i = 0; i < 3000; i++) {
			p = (i % 7) ? sprintf(",\"in_reply_to\":\"m%d@x\"", i - (i % 7)) : ""
			printf "{\"id\":\"r%d\",\"message_id\":\"m%d@x\"%s,\"subject\":\"Re: t%d\",\"text\":\"%s\"}\n", i, i, p, int(i / 7), pad
			if (i % 500 == 0) print ""
			if (i % 701 == 0) print "not json"
		}
	}' >"$BATS_TEST_TMPDIR/big.jsonl"
	crm-thread -j 1 "$BATS_TEST_TMPDIR/big.jsonl" >"$BATS_TEST_TMPDIR/one" 2>"$BATS_TEST_TMPDIR/e1" || [ $? -eq 1 ]
	crm-thread -j 4 "$BATS_TEST_TMPDIR/big.jsonl" >"$BATS_TEST_TMPDIR/four" 2>"$BATS_TEST_TMPDIR/e4" || [ $? -eq 1 ]
	cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/four"
	cmp "$BATS_TEST_TMPDIR/e1" "$BATS_TEST_TMPDIR/e4"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/one")" -eq 3000 ]
	# line numbers of rejects count blank lines, across chunks
	[ "$(grep -c 'not json' "$BATS_TEST_TMPDIR/e4")" -eq 5 ]
	want=$(grep -n '^not json$' "$BATS_TEST_TMPDIR/big.jsonl" | cut -d: -f1 | tr '\n' ' ')
	got=$(grep -o 'big.jsonl:[0-9]*: ' "$BATS_TEST_TMPDIR/e4" | cut -d: -f2 | tr '\n' ' ')
	[ "$got" = "$want" ]
	cat "$BATS_TEST_TMPDIR/big.jsonl" | crm-thread -j 3 2>/dev/null | cmp - "$BATS_TEST_TMPDIR/one"
}

@test "50,000 records: a reversed 50,000-deep chain threads without recursion or growing memory" {
	n=50000
	awk -v n=$n 'BEGIN {
		for (i = n - 1; i >= 0; i--) {
			p = i ? sprintf(",\"in_reply_to\":\"c%d@x\"", i - 1) : ""
			printf "{\"id\":\"c%d\",\"message_id\":\"c%d@x\"%s,\"subject\":\"Re: chain\",\"text\":\"%0200d\"}\n", i, i, p, i
		}
	}' >"$BATS_TEST_TMPDIR/chain.jsonl"
	/usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" crm-thread "$BATS_TEST_TMPDIR/chain.jsonl" >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq $n ]
	[ "$(jq -r .thread.id "$BATS_TEST_TMPDIR/out" | sort -u)" = "$(sha c0@x)" ]
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/out" | jq .thread.depth)" -eq $((n - 1)) ]
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/out" | jq .thread.depth)" -eq 0 ]
	# the input is 14 MB; the index must stay far below it (no whole records)
	rss=$(tail -n 1 "$BATS_TEST_TMPDIR/rss")
	echo "peak RSS ${rss} KB"
	case $CRM_BUILD in *asan*) ;; *) [ "$rss" -lt 40000 ] ;; esac   # ASan's shadow memory
	# --tree caps the indentation and shows the depth instead
	crm-thread --tree "$BATS_TEST_TMPDIR/chain.jsonl" >"$BATS_TEST_TMPDIR/tree"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/tree")" -eq $n ]
	[ "$(wc -c <"$BATS_TEST_TMPDIR/tree")" -lt 10000000 ]
	[[ "$(tail -n 1 "$BATS_TEST_TMPDIR/tree")" == *"[$((n - 1))] Re: chain"* ]]
}

@test "--help shows the usage line of the manual page" {
	run crm-thread --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: crm-thread [--tree] [--subject reply|all|none] [-j N] [FILE...]"* ]]
	run crm-thread -j 0
	[ "$status" -eq 2 ]
}
