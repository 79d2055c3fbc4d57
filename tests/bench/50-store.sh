# crm-store over the SpamAssassin corpus records (1x, 10x): rows/s next to
# the ceiling, a plain COPY of the very same rows into the same table
# (interactions, with its indexes and foreign keys), in the same private
# cluster with crm-db's durable settings.  Target (issue 5): crm-store at
# least 50% of the COPY's rows/s.  Also: a second run over the same input
# (nothing to change) and peak RSS, 1x and 10x.
. "$(dirname "$0")/lib.sh"

r1=$(corpus_records) || exit 0
r10="$BENCH_CACHE/records-10x.jsonl"
if [ ! -s "$r10" ]; then
	md10=$(corpus_maildir10) || exit 0
	crm-sync --maildir "$md10" >"$r10.tmp" 2>/dev/null && mv "$r10.tmp" "$r10"
fi
cat "$r1" "$r10" >/dev/null

export CRM_HOME
CRM_HOME=$(mktemp -d /tmp/crmbench.XXXXXX)
chmod 755 "$CRM_HOME"
CRM_HOME=$CRM_HOME/home
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGSERVICE CRM_DATABASE_URL
trap 'crm-db -q destroy --yes >/dev/null 2>&1; rm -rf "$(dirname "$CRM_HOME")"' EXIT
crm-db -q init || exit 0

q() { crm-db psql -qAtX -c "$1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
COLS="record_id, account, message_id, in_reply_to, refs, thread_id, date, subject, from_name,
    from_email, to_addrs, cc_addrs, outbound, reply_text, forwarded, intent, intent_confidence,
    intent_detail, auto, signature, entities, enrichment, route, assignee, source, attachments,
    size, content_hash, person_id, organisation_id"
empty_all() { q "truncate interactions, people, organisations, email_threads, sync_state, sync_seen cascade" 2>/dev/null; q "vacuum analyze" >/dev/null 2>&1; }

# bench NAME FILE RUNS: store, store again, then COPY the same rows back
# into the emptied interactions table, in turns, so that the load of the
# machine weighs on both alike; medians.
bench() {
	name=$1 f=$2 runs=$3
	n=$(wc -l <"$f")
	ts="" tu="" tc=""
	copy=$(mktemp /tmp/crmbench-rows.XXXXXX)
	for i in $(seq "$runs"); do
		empty_all
		s=$(now)
		crm-store -q "$f" 2>/dev/null
		ts="$ts $(since "$s")"
		s=$(now)
		crm-store -q "$f" 2>/dev/null
		tu="$tu $(since "$s")"
		# the ceiling: the rows crm-store made (ids change every run),
		# copied back into the same table (people and organisations
		# stay, for the foreign keys)
		q "\\copy (select $COLS from interactions) to '$copy'"
		q "truncate interactions cascade" 2>/dev/null
		q "vacuum analyze interactions" >/dev/null 2>&1
		s=$(now)
		q "\\copy interactions ($COLS) from '$copy'"
		tc="$tc $(since "$s")"
	done
	rows=$(q "select count(*) from interactions")
	empty_all
	rss=$(peak_rss "crm-store -q '$f'")
	rm -f "$copy"
	t_s=$(printf '%s\n' $ts | median)
	t_u=$(printf '%s\n' $tu | median)
	t_c=$(printf '%s\n' $tc | median)
	rs=$(rate "$n" "$t_s")
	rc=$(rate "$rows" "$t_c")
	printf '%-36s %8s rows/s  %7s s  %7s KB peak RSS  (%s records)\n' "crm-store ($name)" "$rs" "$t_s" "$rss" "$n"
	printf '%-36s %8s rows/s  %7s s\n' "crm-store again, unchanged ($name)" "$(rate "$n" "$t_u")" "$t_u"
	printf '%-36s %8s rows/s  %7s s  (%s rows)\n' "COPY into interactions ($name)" "$rc" "$t_c" "$rows"
	printf 'crm-store / COPY (%s): %s%%  (target >= 50%%)\n' "$name" \
	    "$(awk -v a="$rs" -v b="$rc" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }')"
}

bench 1x "$r1" 5
bench 10x "$r10" 3
