# crm-thread over the SpamAssassin corpus (1x, 10x): messages/s (median of
# 5 runs) and peak RSS, next to mblaze's mthread (mlist DIR | mthread, the
# tool a Maildir user would pick), and how far the two agree on which
# messages share a thread.  Target (issue 2): crm-thread at least as fast as
# mthread, although it parses JSON records while mthread reads headers.
#
# Agreement: over the messages both tools print, the share whose set of
# thread-mates is identical, and pairwise precision/recall of "same thread"
# taking mthread as the reference.  mthread does no subject grouping, so
# crm-thread is also run with --subject none; what remains then comes from
# the two tools' reading of the headers.  Inspected on the 1x corpus
# (--subject none, about 110 messages in 13 threads differ):
# - In-Reply-To that differs from the last References entry (58 messages):
#   crm-thread keeps the References chain and hangs the message below its
#   In-Reply-To; mthread takes In-Reply-To alone as the parent, and its loop
#   check (which also walks sibling lists) refuses some links, so it splits
#   threads that crm-thread keeps whole (e.g. "The GOv gets tough on Net
#   Users", where mthread cuts a reply off its thread).
# - Gnus writes 'In-Reply-To: user@host's message of "date"': an earlier
#   crm-sync read "user@host's" as a Message-ID and merged nine unrelated
#   replies under one dummy parent; it now reads bare ids only when every
#   word of the value is one (lib/mime.c, bare_ids), as mthread ignores them.
# With subject grouping (default), crm-thread gathers list replies whose
# parents are missing from this sampled corpus ("Re: [SAtalk] ..."): fewer,
# larger threads, hence the lower pairwise precision against mthread, which
# leaves them apart; few of those merges mix spam (4 threads of 2 spams).
. "$(dirname "$0")/lib.sh"

md=$(corpus_maildir) || exit 0
md10=$(corpus_maildir10) || exit 0
r1=$(corpus_records) || exit 0
r10="$BENCH_CACHE/records-10x.jsonl"
if [ ! -s "$r10" ]; then
	crm-sync --maildir "$md10" >"$r10.tmp" 2>/dev/null && mv "$r10.tmp" "$r10"
fi
n1=$(wc -l <"$r1")
n10=$(wc -l <"$r10")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# warm the page cache
cat "$r1" "$r10" >/dev/null
find "$md" "$md10" -type f -exec cat {} + >/dev/null

# median CPU seconds (user + system, children included) of 5 runs
cpu_time() {
	for i in 1 2 3 4 5; do
		/usr/bin/time -f '%U %S' sh -c "$* >/dev/null 2>/dev/null" 2>&1 | tail -n 1
	done | awk '{ print $1 + $2 }' | sort -n | sed -n 3p
}

# measure LABEL MSGS CMD: msg/s (median wall time), CPU seconds, peak RSS;
# sets $rate_ to the messages per second
measure() {
	t=$(median_time "$3")
	rate_=$(rate "$2" "$t")
	printf '%-34s %8s msg/s  %6s s  cpu %5s s  %7s KB peak RSS  (%s msgs)\n' \
	    "$1" "$rate_" "$t" "$(cpu_time "$3")" "$(peak_rss "$3")" "$2"
}

measure "crm-thread (1x)" "$n1" "crm-thread '$r1'"
c1=$rate_
measure "crm-thread -j 1 (1x, one thread)" "$n1" "crm-thread -j 1 '$r1'"
measure "crm-thread (10x)" "$n10" "crm-thread '$r10'"
c10=$rate_
measure "crm-thread -j 1 (10x, one thread)" "$n10" "crm-thread -j 1 '$r10'"
measure "crm-thread --tree (1x)" "$n1" "crm-thread --tree '$r1'"

if ! command -v mthread >/dev/null; then
	echo "mthread: not installed (scripts/install-deps --bench installs mblaze)"
	exit 0
fi
measure "mblaze mlist | mthread (1x)" "$n1" "mlist '$md' | mthread"
m1=$rate_
measure "mblaze mlist | mthread (10x)" "$n10" "mlist '$md10' | mthread"
m10=$rate_
awk -v a="$c1" -v b="$m1" -v c="$c10" -v d="$m10" 'BEGIN {
	printf "crm-thread / mthread: %.2fx (1x), %.2fx (10x)\n", b ? a / b : 0, d ? c / d : 0 }'

# ---- agreement ----
# mthread: one line per message (its path) or missing parent (<id>),
# indented by depth; a line at depth 0 starts a thread.
mlist "$md" | mthread | awk '
	{ match($0, /^ */); d = RLENGTH; s = substr($0, d + 1) }
	d == 0 { g++ }
	s !~ /^</ { n = split(s, p, "/"); print p[n] "\t" g }' | sort >"$tmp/m"
crm_groups() {
	crm-thread "$@" "$r1" 2>/dev/null | jq -r '[(.source.path | split("/") | last), .thread.id] | @tsv' | sort
}
agree() {       # label crm-groups-file
	join -t '	' "$2" "$tmp/m" | awk -F '\t' -v label="$1" -v nc="$(wc -l <"$2")" -v nm="$(wc -l <"$tmp/m")" '
	{ a[NR] = $2; b[NR] = $3; na[$2]++; nb[$3]++; nab[$2 SUBSEP $3]++ }
	END {
		for (i = 1; i <= NR; i++)
			same += (nab[a[i] SUBSEP b[i]] == na[a[i]] && na[a[i]] == nb[b[i]])
		for (k in na) { pa += na[k] * (na[k] - 1) / 2; ta++ }
		for (k in nb) { pb += nb[k] * (nb[k] - 1) / 2; tb++ }
		for (k in nab) tp += nab[k] * (nab[k] - 1) / 2
		printf "%-26s %5d messages in both (crm %d, mthread %d); threads %d vs %d\n", label, NR, nc, nm, ta, tb
		printf "%-26s identical thread-mates %.2f%%; pairs: precision %.4f recall %.4f (%d vs %d pairs)\n", "",
		    NR ? 100 * same / NR : 0, pa ? tp / pa : 1, pb ? tp / pb : 1, pa, pb
	}'
}
crm_groups >"$tmp/c"
crm_groups --subject none >"$tmp/cn"
crm_groups --subject all >"$tmp/ca"
echo "agreement with mthread (1x):"
agree "  default (--subject reply)" "$tmp/c"
agree "  --subject none" "$tmp/cn"
agree "  --subject all" "$tmp/ca"
# messages mthread does not print: it keeps one file per Message-ID
dups=$(jq -r 'select(.message_id != null) | .message_id' "$r1" | sort | uniq -d | wc -l)
echo "  Message-IDs carried by more than one file: $dups (mthread prints one file for each)"
