#!/bin/sh
# 40-intent: crm-intent over the SpamAssassin corpus records (one core):
# messages per second with and without entities, peak RSS, how many are
# classified mailing_list / bounce (with a spot-check sample), and the
# intent scorer over the labelled corpus, and jq adding a key to the same
# records as a peer (parse + print, nothing classified).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

r=$(corpus_records) || exit 0
n=$(wc -l <"$r")
echo "corpus: $n SpamAssassin message records ($(du -m "$r" | cut -f1) MB)"

# CPU seconds (user + sys) of one run, median of 5: the machine may be
# shared, and CPU time is what "one core" costs; wall time is shown too.
cpu_time() {
	for i in 1 2 3 4 5; do
		/usr/bin/time -f '%U %S' sh -c "$* >/dev/null 2>/dev/null" 2>&1 | tail -n 1 |
			awk '{ printf "%.3f\n", $1 + $2 }'
	done | sort -n | sed -n 3p
}
per_s() {
	awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else printf "inf" }'
}
for v in "crm-intent" "crm-intent --no-entities" "crm-intent --max-text 1k"; do
	c=$(cpu_time "$v <'$r'")
	w=$(median_time "$v <'$r'")
	printf '%-26s cpu %6s s  %7s msg/s   (wall %s s)\n' "$v:" "$c" "$(per_s "$n" "$c")" "$w"
done
if command -v jq >/dev/null; then
	c=$(cpu_time "jq -c '. + {intent: null}' <'$r'")
	printf '%-26s cpu %6s s  %7s msg/s\n' "peer: jq -c '. + {k: v}'" "$c" "$(per_s "$n" "$c")"
fi
echo "peak RSS: $(peak_rss "crm-intent <'$r'") KB"

out=$(mktemp)
crm-intent <"$r" >"$out" 2>/dev/null
echo "auto over the corpus:"
jq -r .auto "$out" | sort | uniq -c | sort -rn | sed 's/^/  /'
echo "intent over the corpus:"
jq -r .intent.label "$out" | sort | uniq -c | sort -rn | sed 's/^/  /'
echo "auto by corpus group (mailing_list, bounce):"
jq -r '[(.source.path | sub(".*/"; "") | sub("\\..*"; "")), .auto] | @tsv' "$out" |
	awk '$2 == "mailing_list" || $2 == "bounce"' | sort | uniq -c | sed 's/^/  /'
echo "spot check, bounces (subject, auto_detail):"
jq -r 'select(.auto == "bounce") | "  \(.subject) -> \(.auto_detail | tostring)"' "$out" | head -n 10
echo "spot check, 8 mailing_list records (group, subject, the list header seen):"
jq -r 'select(.auto == "mailing_list") | "  \(.source.path | sub(".*/"; "") | sub("\\..*"; "")) | \(.subject[0:60]) | \(.headers | keys | map(select(test("^(list-|precedence|x-mc|x-mailgun|x-sg-|feedback|x-beenthere|x-campaign)"))) | join(","))"' "$out" |
	awk 'NR % 400 == 1' | head -n 8
echo "spot check, 8 'none' records from spam groups (subject, intent):"
jq -r 'select(.auto == "none" and (.source.path | test("spam"))) | "  \(.subject[0:60]) | \(.intent.label)"' "$out" |
	awk 'NR % 150 == 1' | head -n 8
rm -f "$out"

echo "labelled corpus (tests/fixtures/intents):"
"$here/score-intents" | sed 's/^/  /'
