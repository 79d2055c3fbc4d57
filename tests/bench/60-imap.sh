#!/bin/sh
# crm-sync --imap against a local Dovecot (tests/dovecot.bash: implicit TLS
# with a test CA) serving the SpamAssassin corpus, next to mbsync (isync)
# pulling the same mailbox from the same server.  Targets (issue 7):
#   - initial sync at least as many messages/s as mbsync;
#   - a no-change incremental run on 10,000 messages under 1 s;
#   - peak RSS bounded by the batch, not the mailbox (1x vs 10x).
# Both tools verify the server certificate and speak TLS to 127.0.0.1.
# mbsync writes one file per message; it runs with "FSync no" so that the
# comparison is about IMAP, not about the disk (its default, FSync yes,
# is printed too for the record).  crm-sync parses every message into a
# JSON record (sent to /dev/null).  Dovecot's indexes are built before
# timing, so neither tool pays for them.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$CRM_TOP/tests/pg.bash"
. "$CRM_TOP/tests/dovecot.bash"

command -v dovecot >/dev/null || { echo "60-imap: dovecot not installed"; exit 0; }
md=$(corpus_maildir) || exit 0
md10=$(corpus_maildir10) || exit 0

W=$(mktemp -d /tmp/crmbench.XXXXXX)
cleanup() {
	dc_stop_all >/dev/null 2>&1
	pg_stop >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
pg_start || exit 0
crm-db migrate >/dev/null 2>&1 || { echo "60-imap: crm-db migrate failed"; exit 0; }
export CRM_SECRET_KEY_FILE=$W/secret.key
crm-account keygen >/dev/null 2>&1
dc_start || exit 0

# user NAME MAILDIR [N]: a mail user holding MAILDIR (its first N messages)
user() {
	local d=$DC/mail/$1/Maildir
	dc_user "$1" "pw-$1"
	mkdir -p "$d/new" "$d/tmp" "$d/cur"
	if [ -n "${3:-}" ]; then
		ls "$2/cur" | head -n "$3" | sed "s|^|$2/cur/|" | xargs cp -t "$d/cur"
	else
		cp "$2"/cur/* "$d/cur/" 2>/dev/null || find "$2/cur" -type f -exec cp -t "$d/cur" {} +
	fi
	chown -R "$(dc_mu):$(dc_mg)" "$DC/mail/$1"
	doveadm -c "$DC/dovecot.conf" index -u "$1" INBOX >/dev/null 2>&1
	printf 'pw-%s\n' "$1" >"$W/pw-$1"
	crm-account add "$1@bench" --kind imap --host localhost --port "$DC_TLSPORT" \
	    --cafile "$DC_CA" --user "$1" --password-file "$W/pw-$1" >/dev/null 2>&1
}

# mbsync_cfg NAME FSYNC: a config pulling user NAME's INBOX into $W/mb-NAME
mbsync_cfg() {
	cat >"$W/mbsyncrc-$1-$2" <<-EOF
	FSync $2

	IMAPAccount $1
	Host localhost
	Port $DC_TLSPORT
	User $1
	Pass pw-$1
	SSLType IMAPS
	CertificateFile $DC_CA

	IMAPStore $1-far
	Account $1

	MaildirStore $1-near
	Path $W/mb-$1/
	Inbox $W/mb-$1/INBOX

	Channel $1
	Far :$1-far:
	Near :$1-near:
	Patterns INBOX
	Sync Pull
	Create Near
	SyncState $W/mb-$1/state/
	EOF
	echo "$W/mbsyncrc-$1-$2"
}

# mbsync_initial CFG NAME: median wall time of 5 first syncs into an empty Maildir
mbsync_initial() {
	for i in 1 2 3 4 5; do
		rm -rf "$W/mb-$2"
		mkdir -p "$W/mb-$2/state"
		s=$(date +%s.%N)
		mbsync -q -c "$1" "$2" >/dev/null 2>&1
		e=$(date +%s.%N)
		awk -v a="$s" -v b="$e" 'BEGIN { printf "%.4f\n", b - a }'
	done | sort -n | sed -n 3p
}

user b1 "$md"
user b10 "$md10"
user b10k "$md10" 10000
n1=$(DC_USER=b1 dc_count)
n10=$(DC_USER=b10 dc_count)
n10k=$(DC_USER=b10k dc_count)

echo "Dovecot $(dovecot --version | cut -d' ' -f1) on 127.0.0.1, implicit TLS; SpamAssassin corpus"
# initial sync, 1x: crm-sync prints records, stores nothing, so every run is a first sync
t=$(median_time "crm-sync --imap b1@bench")
crm1=$(rate "$n1" "$t")
printf '%-40s %8s msg/s  %7s s  (%s msgs)\n' "crm-sync --imap, initial (1x)" "$crm1" "$t" "$n1"
if command -v mbsync >/dev/null; then
	cfg=$(mbsync_cfg b1 no)
	tm=$(mbsync_initial "$cfg" b1)
	mb=$(rate "$n1" "$tm")
	printf '%-40s %8s msg/s  %7s s\n' "mbsync $(mbsync --version | cut -d' ' -f2), initial, FSync no" "$mb" "$tm"
	cfgy=$(mbsync_cfg b1 yes)
	rm -rf "$W/mb-b1"
	mkdir -p "$W/mb-b1/state"
	s=$(date +%s.%N)
	mbsync -q -c "$cfgy" b1 >/dev/null 2>&1
	e=$(date +%s.%N)
	ty=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
	printf '%-40s %8s msg/s  %7s s  (one run)\n' "mbsync, initial, FSync yes (default)" "$(rate "$n1" "$ty")" "$ty"
	printf 'crm-sync / mbsync (FSync no): %.1fx\n' "$(awk -v a="$crm1" -v b="$mb" 'BEGIN { print b ? a / b : 0 }')"
	rm -rf "$W/mb-b1"
else
	echo "mbsync: not installed (apt-get install isync)"
fi

# no-change incremental on 10,000 messages: first a real stored sync
s=$(date +%s.%N)
crm-sync --imap b10k@bench 2>/dev/null | crm-store -q 2>/dev/null
e=$(date +%s.%N)
ts=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
stored=$(psql -qAtX -c "select count(*) from interactions where account = 'b10k@bench'")
printf '%-40s %8s msg/s  %7s s  (%s msgs, %s stored)\n' "crm-sync --imap | crm-store (10,000)" "$(rate "$n10k" "$ts")" "$ts" "$n10k" "$stored"
tn=$(median_time "crm-sync --imap b10k@bench")
printf '%-40s %8s s   (target < 1 s; %s new records)\n' "crm-sync --imap, no change (10,000)" "$tn" \
    "$(crm-sync --imap b10k@bench 2>/dev/null | wc -l)"
if command -v mbsync >/dev/null; then
	cfg=$(mbsync_cfg b10k no)
	mkdir -p "$W/mb-b10k/state"
	mbsync -q -c "$cfg" b10k >/dev/null 2>&1
	tmn=$(median_time "mbsync -q -c '$cfg' b10k")
	printf '%-40s %8s s\n' "mbsync, no change (10,000)" "$tmn"
fi

# memory: 1x vs 10x, batch 100 messages / 8 MB
r1=$(peak_rss "crm-sync --imap b1@bench")
s=$(date +%s.%N)
r10=$(peak_rss "crm-sync --imap b10@bench")
e=$(date +%s.%N)
t10=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
printf '%-40s %8s KB peak RSS\n' "crm-sync --imap (1x, $n1 msgs)" "$r1"
printf '%-40s %8s KB peak RSS  (%s msg/s)\n' "crm-sync --imap (10x, $n10 msgs)" "$r10" "$(rate "$n10" "$t10")"
if command -v mbsync >/dev/null; then
	cfg=$(mbsync_cfg b1 no)
	rm -rf "$W/mb-b1"
	mkdir -p "$W/mb-b1/state"
	printf '%-40s %8s KB peak RSS\n' "mbsync (1x)" "$(peak_rss "mbsync -q -c '$cfg' b1")"
fi
