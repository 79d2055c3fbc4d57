#!/bin/sh
# 30-signature.sh — crm-parse-signature: accuracy on the labelled corpus,
# throughput and peak RSS over the SpamAssassin records, and the npm
# peers side by side (talon, talonjs, planer, email-signature-detector,
# email-reply-parser; installed with npm into $BENCH_CACHE/npm), and
# whether they find a signature at all in the French messages of the
# corpus.  Speed is taken two ways, each the same for crm and the peers:
#   as a stage: JSON lines in, each parsed, the work done, the result
#     spliced into the line (crm-parse-signature itself; JSON.parse, the
#     call and a splice for the peers);
#   the work alone: records parsed beforehand, untimed (sig-lib.c for
#     crm: quote split, locate, extract, cache; the library call for the
#     peers).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

R=$(corpus_records) || exit 1
N=$(grep -c . "$R")
SIGDIR="$CRM_TOP/tests/fixtures/signatures"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "--- accuracy (tests/fixtures/signatures, $(grep -c . "$SIGDIR/labels.jsonl") labelled messages)"
"$here/score-signatures"

echo
echo "--- crm-parse-signature over $N SpamAssassin records (crm-sync output, $(($(wc -c <"$R") / N)) bytes a record)"
t=$(median_time "crm-parse-signature '$R'")
# user CPU: the median of five runs (the machine is shared: one run is noise)
for i in 1 2 3 4 5; do
	/usr/bin/time -o "$TMP/cpu" -f %U crm-parse-signature "$R" >/dev/null 2>&1
	tail -n 1 "$TMP/cpu"
done | sort -n | sed -n 3p >"$TMP/cpu.median"
cpu=$(cat "$TMP/cpu.median")
rss=$(peak_rss "crm-parse-signature '$R'")
echo "crm-parse-signature: $(rate "$N" "$t") msg/s (median of 5, wall $t s); $(rate "$N" "$cpu") msg/s by user CPU (median of 5, $cpu s); peak RSS $rss KB"
echo "  load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
crm-parse-signature "$R" 2>&1 >/dev/null | sed 's/^/  /'
lib="$BENCH_CACHE/sig-lib"
if bench_cc "$lib" "$here/sig-lib.c"; then
	for i in 1 2 3 4 5; do "$lib" "$CRM_RULES_DIR/signature" "$R"; done >"$TMP/lib"
	w=$(cut -d' ' -f1 "$TMP/lib" | sort -n | sed -n 3p)
	c=$(cut -d' ' -f2 "$TMP/lib" | sort -n | sed -n 3p)
	echo "crm work alone (sig-lib.c, records parsed beforehand): $w msg/s wall, $c msg/s by CPU (medians of 5; $(head -n 1 "$TMP/lib" | cut -d' ' -f4) cards)"
fi

# the French messages of the corpus, as records
crm-sync --maildir "$SIGDIR" 2>/dev/null >"$TMP/corpus.jsonl"
jq -c 'select(.message_id | test("^(fr|be|ch|lu|ca)-"))' "$TMP/corpus.jsonl" >"$TMP/fr.jsonl"
jq -r 'select(.message_id | test("^(fr|be|ch|lu|ca)-")) | select([.fields[] | select(. != null)] | length > 0) | .message_id' \
    "$SIGDIR/labels.jsonl" >"$TMP/fr-with-sig.txt"
grep -F -f "$TMP/fr-with-sig.txt" "$TMP/fr.jsonl" >"$TMP/fr-sig.jsonl"
FRN=$(grep -c . "$TMP/fr-sig.jsonl")
crmfound=$(crm-parse-signature "$TMP/fr-sig.jsonl" 2>/dev/null | jq -s '[.[] | select(.signature)] | length')
echo "  on the $FRN French messages that carry a signature: crm-parse-signature finds $crmfound, with its fields"

echo
echo "--- npm peers"
NM="$BENCH_CACHE/npm/node_modules"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "node/npm not installed: peers skipped"
	exit 0
fi
if [ ! -d "$NM/email-reply-parser" ]; then
	mkdir -p "$BENCH_CACHE/npm"
	(cd "$BENCH_CACHE/npm" && npm install --silent --no-audit --no-fund \
	    talon talonjs planer email-signature-detector email-reply-parser >/dev/null 2>&1) ||
	    { echo "npm install failed: peers skipped"; exit 0; }
fi
# a peer's figure is the median of three runs (node's JIT warms up
# within a run, so each run is one pass over the records)
peer() {
	for i in 1 2 3; do node "$here/sig-peers.js" "$NM" "$@" 2>/dev/null; done >"$TMP/peer"
	echo "$(cut -d' ' -f1 "$TMP/peer" | sort -n | sed -n 2p) $(cut -d' ' -f2 "$TMP/peer" | sort -n | sed -n 2p) $(head -n 1 "$TMP/peer" | cut -d' ' -f3)"
}
echo "msg/s, wall / by user CPU:           work alone        as a stage        French signatures"
for p in talon talonjs planer email-signature-detector email-reply-parser; do
	max=$N
	[ "$p" = email-reply-parser ] && max=300
	sp=$(peer "$p" speed "$R" "$max")
	st=$(peer "$p" stage "$R" "$max")
	fr=$(node "$here/sig-peers.js" "$NM" "$p" found "$TMP/fr-sig.jsonl" 2>/dev/null)
	set -- $sp $st
	printf '%-26s %7s / %-7s  %7s / %-7s  %s (%s records)\n' "$p" "$1" "$2" "$4" "$5" "$fr" "$3"
done
echo "(talonjs and planer only strip quotations: they have no signature to find;"
echo " node runs its garbage collector on other threads, so its wall rate can pass its CPU rate)"
