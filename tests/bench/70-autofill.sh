# crm-autofill end to end against the embedded PostgreSQL (crm-db init: a
# private cluster with crm-db's durable settings), in interactions/s.
# Target (issue 6): at least 5,000 interactions/s.
#
# Two stores, each made once through the real pipeline
#   records | crm-parse-signature | crm-intent | crm-store
# so that the CRM is the one crm-store makes of the senders (people by
# address, firms by domain, their details empty) and autofill has the
# signatures of the mail to fill it from:
#   SpamAssassin 10x   the corpus records ten times over (unique ids): mail
#                      as it comes, lists, spam, a signature in one message
#                      out of six;
#   signature corpus   tests/fixtures/signatures (every message a card),
#                      COPIES times over with unique ids, a week apart, so
#                      that each sender has a year of mail: evidence piles
#                      up per person and every batch reads it back.
# Each run starts from a fresh copy of the store (CREATE DATABASE ...
# TEMPLATE; the store is analyzed once, as autovacuum would) and processes
# all of it; medians of RUNS runs: wall time, CPU of crm-autofill and of
# the cluster (server backend, WAL writer, checkpointer: the work is done
# there; steadier than wall time on a busy machine), peak RSS of
# crm-autofill.  Then the hourly cron's batch (--limit 50), and
# tests/bench/score-autofill: are the applied values right (target: at
# least 97%)?
#
# Where the time goes (EXPLAIN ANALYZE, perf of the backend): for mail as
# it comes, in the claim's UPDATE of interactions (autofilled_at,
# autofill_run_id): never a HOT update (autofilled_at is in the predicate
# of the to-do index), so a new entry in each of the table's nine indexes
# per message, and a foreign-key check of the run; for the signature
# corpus, also the foreign-key checks of every evidence row (interaction,
# run).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

RUNS=${RUNS:-3}
COPIES=${COPIES:-50}
corpus_records >/dev/null || exit 0
r10="$BENCH_CACHE/records-10x.jsonl"
if [ ! -s "$r10" ]; then
	md10=$(corpus_maildir10) || exit 0
	crm-sync --maildir "$md10" >"$r10.tmp" 2>/dev/null && mv "$r10.tmp" "$r10"
fi

TMP=$(mktemp -d /tmp/crmbench.XXXXXX)
chmod 755 "$TMP"
export CRM_HOME="$TMP/home" CRM_SQL_DIR="$CRM_TOP/sql"
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGSERVICE PGUSER CRM_DATABASE_URL
trap 'crm-db -q destroy --yes >/dev/null 2>&1; rm -rf "$TMP"' EXIT
crm-db -q init || exit 0
# from here on every program (and psql) goes to the running cluster
# through the PG variables, one database per store
export PGHOST="$CRM_HOME/pg/run" PGUSER=crm PGDATABASE=crm
PGDATA=$(crm-db psql -qAtX -c 'show data_directory')

q() { psql -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
qp() { psql -qAtX -d postgres -v ON_ERROR_STOP=1 -c "$1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
strategy=""
[ "$(qp 'show server_version_num')" -ge 150000 ] && strategy="strategy file_copy"

# CPU seconds (user + system) of the cluster so far: the postmaster, its
# live children and (cutime, cstime) the children it has reaped
cluster_cpu() {
	pm=$(head -n 1 "$PGDATA/postmaster.pid")
	{
		cat "/proc/$pm/stat"
		for c in $(cat /proc/"$pm"/task/*/children 2>/dev/null); do
			cat "/proc/$c/stat" 2>/dev/null
		done
	} | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13
		if (NR == 1) t += $14 + $15 } END { printf "%.2f\n", t / hz }'
}

# store NAME FILE: the pipeline into database NAME, the template of the runs
store() {
	qp "create database $1" &&
	PGDATABASE=$1 crm-db -q migrate &&
	crm-parse-signature "$2" 2>/dev/null | crm-intent 2>/dev/null >"$TMP/$1.jsonl" &&
	PGDATABASE=$1 crm-store -q "$TMP/$1.jsonl" 2>/dev/null
	PGDATABASE=$1 q "vacuum analyze" >/dev/null 2>&1
	rm -f "$TMP/$1.jsonl"
}

fresh() {
	qp "drop database if exists crm" && qp "create database crm template $1 $strategy"
}

# bench NAME TEMPLATE: RUNS runs of crm-autofill over a fresh copy
bench() {
	tw="" tc="" ts="" rss=""
	for i in $(seq "$RUNS"); do
		fresh "$2" || return
		sleep 1
		c0=$(cluster_cpu)
		s=$(now)
		/usr/bin/time -f '%U %S %M' -o "$TMP/time" crm-autofill 2>"$TMP/err"
		tw="$tw $(since "$s")"
		sleep 0.5
		c1=$(cluster_cpu)
		read -r u sy m <"$TMP/time"
		tc="$tc $(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }')"
		ts="$ts $(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
		rss="$rss $m"
	done
	n=$(q "select count(*) from interactions")
	w=$(printf '%s\n' $tw | median)
	c=$(printf '%s\n' $tc | median)
	s=$(printf '%s\n' $ts | median)
	printf '%-30s %7s interactions/s  %6s s  (%s interactions; median of %s)\n' \
	    "crm-autofill ($1)" "$(rate "$n" "$w")" "$w" "$n" "$RUNS"
	printf '%-30s %7s interactions/CPU-s  (crm-autofill %s s + cluster %s s); peak RSS %s KB\n' \
	    "  by CPU" "$(rate "$n" "$(awk -v a="$c" -v b="$s" 'BEGIN { print a + b }')")" "$c" "$s" \
	    "$(printf '%s\n' $rss | median)"
	sed 's/^/  /' "$TMP/err"
}

echo "--- stores (crm-parse-signature | crm-intent | crm-store, once)"
s=$(now)
store sa10 "$r10" || exit 0
echo "SpamAssassin 10x: $(PGDATABASE=sa10 q "select count(*) || ' interactions, ' || count(person_id) || ' from a person, ' || count(*) filter (where signature ? 'fields') || ' with a signature; ' || (select count(*) from people) || ' people, ' || (select count(*) from organisations) || ' organisations' from interactions") ($(since "$s") s)"
# the signature corpus, COPIES times: ids made unique, a week apart
crm-sync --maildir "$CRM_TOP/tests/fixtures/signatures" 2>/dev/null | python3 -c '
import datetime, json, sys
copies = int(sys.argv[1])
recs = [json.loads(l) for l in sys.stdin if l.strip()]
for k in range(copies):
    for r in recs:
        c = dict(r)
        c["id"] = "%s.c%d" % (r["id"], k)
        if r.get("message_id"):
            local, _, host = r["message_id"].rpartition("@")
            c["message_id"] = "%s.c%d@%s" % (local, k, host)
        if r.get("date"):
            d = datetime.datetime.strptime(r["date"], "%Y-%m-%dT%H:%M:%SZ")
            c["date"] = (d - datetime.timedelta(weeks=k)).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(json.dumps(c, ensure_ascii=False))
' "$COPIES" >"$TMP/sig-records.jsonl"
s=$(now)
store sig "$TMP/sig-records.jsonl" || exit 0
echo "signature corpus x$COPIES: $(PGDATABASE=sig q "select count(*) || ' interactions, ' || count(*) filter (where signature ? 'fields') || ' with a signature; ' || (select count(*) from people) || ' people, ' || (select count(*) from organisations) || ' organisations' from interactions") ($(since "$s") s)"

echo
echo "--- crm-autofill over the whole store (target >= 5000 interactions/s)"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
bench "SpamAssassin 10x" sa10
bench "signatures x$COPIES" sig

echo
echo "--- the hourly cron: crm-autofill --limit 50 (SpamAssassin 10x store)"
fresh sa10
t=""
for i in $(seq "$RUNS"); do
	s=$(now)
	crm-autofill -q --limit 50
	t="$t $(since "$s")"
done
printf 'crm-autofill --limit 50: %s s a run (median of %s, successive batches of one store)\n' \
    "$(printf '%s\n' $t | median)" "$RUNS"

echo
echo "--- accuracy of the applied values (tests/bench/score-autofill)"
qp "create database score" && PGDATABASE=score crm-db -q migrate &&
    PGDATABASE=score "$here/score-autofill"
