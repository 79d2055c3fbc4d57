# 15-floor: what reading JSON lines costs before a stage does any work.
# stage-floor.c runs the library's stage loop (read, UTF-8 check, json-c
# parse, spliced output) and nothing else; its rate is the ceiling of every
# JSON-lines stage on one core (crm-parse-signature, crm-intent, ...), and
# json-c's tokenizer is most of it.  jq parsing and printing the same
# records is shown beside it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

r=$(corpus_records) || exit 0
n=$(wc -l <"$r")
floor="$BENCH_CACHE/stage-floor"
bench_cc "$floor" "$here/stage-floor.c" || exit 0
cpu_time() {
	for i in 1 2 3 4 5; do
		/usr/bin/time -f '%U %S' sh -c "$* >/dev/null 2>/dev/null" 2>&1 | tail -n 1 |
			awk '{ printf "%.3f\n", $1 + $2 }'
	done | sort -n | sed -n 3p
}
echo "corpus: $n SpamAssassin message records ($(du -m "$r" | cut -f1) MB)"
c=$(cpu_time "'$floor' <'$r'")
printf '%-30s cpu %6s s  %7s msg/s\n' "stage loop, no work:" "$c" "$(rate "$n" "$c")"
if command -v jq >/dev/null; then
	c=$(cpu_time "jq -c . <'$r'")
	printf '%-30s cpu %6s s  %7s msg/s\n' "jq -c . (parse and print):" "$c" "$(rate "$n" "$c")"
fi
