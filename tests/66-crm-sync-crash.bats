#!/usr/bin/env bats
# The promise of crm-sync(1) REMOTE SOURCES: crm-sync or crm-store killed
# with SIGKILL at any point of a long IMAP sync, then run again: every
# message is stored exactly once and the cursor ends on the last one.

load helper
load remote

N=2000

setup_file() {
	remote_setup
	dc_start
	dc_user long pw-long
	# N messages written straight into the Maildir (dc_seed is too slow
	# for thousands): CRLF line ends, increasing file times
	m=$DC/mail/long/Maildir
	mkdir -p "$m/cur" "$m/new" "$m/tmp"
	$PY - "$m/new" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    body = "".join("Line %d of message %d, with enough words to look like a short business mail.\r\n" % (k, i) for k in range(12))
    msg = ("From: Client %d <c%d@client%d.example>\r\nTo: sales@firm.example\r\n"
           "Subject: Order %d\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
           "Message-ID: <order%d@client%d.example>\r\n\r\n%s" % (i, i, i % 97, i, i, i % 97, body))
    p = "%s/%d.M%dP1.crash" % (d, 1704103200 + i, i)
    with open(p, "w") as f:
        f.write(msg)
    os.utime(p, (1704103200 + i, 1704103200 + i))
PY
	chown -R "$(dc_mu):$(dc_mg)" "$DC/mail"
	DC_USER=long DC_PASS=pw-long imap_account long@test
}

teardown_file() {
	dc_stop_all
	remote_teardown
}

@test "kill -9 of crm-sync or crm-store at random points, then a last run: each message stored exactly once" {
	export CRM_IMAP_BATCH=25
	seed=${CRASH_SEED:-$$}
	RANDOM=$seed
	echo "seed $seed"
	killed=0
	for round in 1 2 3 4 5 6 7 8; do
		f=$BATS_TEST_TMPDIR/fifo.$round
		mkfifo "$f"
		crm-sync --imap long@test >"$f" 2>>"$BATS_TEST_TMPDIR/sync.err" &
		s=$!
		crm-store -q --batch 40 <"$f" 2>>"$BATS_TEST_TMPDIR/store.err" &
		t=$!
		delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.05 + (r % 400) / 1000 }')
		sleep "$delay"
		case $((RANDOM % 3)) in
		0) victim=crm-sync; kill -9 "$s" 2>/dev/null && killed=$((killed + 1)) ;;
		1) victim=crm-store; kill -9 "$t" 2>/dev/null && killed=$((killed + 1)) ;;
		2) victim=both; kill -9 "$t" "$s" 2>/dev/null && killed=$((killed + 1)) ;;
		esac
		wait "$s" || true
		wait "$t" || true
		echo "round $round: kill $victim after ${delay}s: $(pg_q "select count(*) from interactions where account = 'long@test'") stored, cursor $(pg_q "select cursor->>'uid' from sync_state where account = 'long@test'")"
	done
	echo "$killed kills landed"
	# the last run, left alone
	run --separate-stderr bash -o pipefail -c 'crm-sync --imap long@test | crm-store -q --batch 40'
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(pg_q "select count(*) from interactions where account = 'long@test'")" = "$N" ]
	[ "$(pg_q "select count(distinct message_id) from interactions where account = 'long@test'")" = "$N" ]
	# exactly the messages of the mailbox: order1 .. orderN
	[ "$(pg_q "select count(*) from interactions where account = 'long@test' and message_id ~ '^order[0-9]+@client[0-9]+[.]example$' and substring(message_id from '^order([0-9]+)')::int between 1 and $N")" = "$N" ]
	[ "$(pg_q "select cursor->>'uid' from sync_state where account = 'long@test' and folder = 'INBOX'")" = "$N" ]
	[ "$(pg_q "select count(*) from mail_accounts where lease_owner is not null")" = 0 ]
	# every run's job row is closed: by the run itself, or by the one that took its lease
	[ "$(pg_q "select count(*) from job_runs where account = 'long@test' and status = 'running'")" = 0 ]
	# and one more run has nothing to do
	run --separate-stderr crm-sync --imap long@test
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
