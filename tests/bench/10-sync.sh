# crm-sync --maildir over the SpamAssassin corpus (1x, 10x): messages/s and
# peak RSS, next to what a user would pick instead: Node's mailparser
# (simpleParser per file), mblaze's mshow (decode and render) and
# notmuch new (index).  Targets (issue 2): >= 10x mailparser, >= 20,000
# msg/s on one core, RSS flat from 1x to 10x.
. "$(dirname "$0")/lib.sh"

md=$(corpus_maildir) || exit 0
md10=$(corpus_maildir10) || exit 0
n1=$(ls "$md/cur" | wc -l)
n10=$(ls "$md10/cur" | wc -l)
# warm the page cache
find "$md" "$md10" -type f -exec cat {} + >/dev/null

t1=$(median_time "crm-sync --maildir '$md'")
t10=$(median_time "crm-sync --maildir '$md10'")
r1=$(peak_rss "crm-sync --maildir '$md'")
r10=$(peak_rss "crm-sync --maildir '$md10'")
crm1=$(rate "$n1" "$t1")
printf '%-34s %8s msg/s  %6s s  %7s KB peak RSS  (%s msgs)\n' \
    "crm-sync --maildir (1x)" "$crm1" "$t1" "$r1" "$n1"
printf '%-34s %8s msg/s  %6s s  %7s KB peak RSS  (%s msgs)\n' \
    "crm-sync --maildir (10x)" "$(rate "$n10" "$t10")" "$t10" "$r10" "$n10"
# the one-core figure: median user CPU seconds of 5 runs (wall time also
# counts the kernel's file reads and, on a busy machine, other programs)
u1=$(for i in 1 2 3 4 5; do
	/usr/bin/time -f %U crm-sync --maildir "$md" 2>&1 >/dev/null | tail -n 1
done | sort -n | sed -n 3p)
printf '%-34s %8s msg/s  %6s s user CPU\n' "crm-sync --maildir (1x, user CPU)" \
    "$(rate "$n1" "$u1")" "$u1"

# Node mailparser
npmdir="$BENCH_CACHE/npm"
if [ ! -d "$npmdir/node_modules/mailparser" ]; then
	npm install --silent --prefix "$npmdir" mailparser >/dev/null 2>&1 ||
	    echo "mailparser: npm install failed"
fi
if [ -d "$npmdir/node_modules/mailparser" ]; then
	export NODE_PATH="$npmdir/node_modules"
	tm=$(median_time "node '$CRM_TOP/tests/bench/mailparser.js' '$md'")
	rm_=$(peak_rss "node '$CRM_TOP/tests/bench/mailparser.js' '$md'")
	mp=$(rate "$n1" "$tm")
	printf '%-34s %8s msg/s  %6s s  %7s KB peak RSS\n' "node mailparser simpleParser" "$mp" "$tm" "$rm_"
	printf 'crm-sync / mailparser: %.1fx\n' "$(awk -v a="$crm1" -v b="$mp" 'BEGIN { print b ? a / b : 0 }')"
fi

if command -v mshow >/dev/null; then
	tb=$(median_time "mlist '$md' | mshow -N")
	printf '%-34s %8s msg/s  %6s s\n' "mblaze mlist | mshow -N" "$(rate "$n1" "$tb")" "$tb"
fi

if command -v notmuch >/dev/null; then
	nm=$(mktemp -d)
	cp -R "$md" "$nm/mail"
	printf '[database]\npath=%s/mail\n[new]\ntags=new\n' "$nm" >"$nm/config"
	s=$(date +%s.%N)
	NOTMUCH_CONFIG="$nm/config" notmuch new --quiet >/dev/null 2>&1
	e=$(date +%s.%N)
	tn=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
	printf '%-34s %8s msg/s  %6s s  (one run: it indexes once)\n' "notmuch new" "$(rate "$n1" "$tn")" "$tn"
	rm -rf "$nm"
fi
