#!/usr/bin/env bats
# crm-autofill against a real PostgreSQL: what is applied, confirmed,
# suggested or left alone, the threshold at its boundary, agreement and
# recency, people's edits, undo, concurrent runs, records on stdin, bad
# input and a database that is down.

load helper

setup_file() {
	load pg
	pg_start
}

teardown_file() {
	load pg
	pg_stop
}

setup() {
	load pg
	load fixtures/autofill/helpers
	af_reset
}

SOPHIE=sophie.marchal@valmont-gestion.fr
PAUL=paul.durand@valmont-gestion.fr
OLIVIER=olivier@ferrand-patrimoine.fr

@test "an empty field is filled at the threshold, audited with old value, confidence, message and run" {
	i=$(msg $SOPHIE 2025-10-01T10:00:00Z '{"name":["Sophie Marchal",0.95],"mobile":["+33672184409",0.92]}')
	run crm-autofill
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 interactions, 1 matched, 1 applied"* ]]
	[ "$(q "select mobile from people where email = '$SOPHIE'")" = "+33672184409" ]
	run q "select run_id, entity_type, field, coalesce(old_value, 'NULL'), new_value, confidence,
	    method, interaction_id from autofill_changes"
	run_id=$(q "select max(id) from autofill_runs")
	[ "$output" = "$run_id|person|mobile|NULL|+33672184409|0.92|signature|$i" ]
	# provenance says who wrote it
	run q "select provenance -> 'mobile' ->> 'method', provenance -> 'mobile' ->> 'run_id',
	    provenance -> 'mobile' ->> 'interaction_id' from people where email = '$SOPHIE'"
	[ "$output" = "autofill|$run_id|$i" ]
	# the run is recorded with its counts and the interaction marked
	[ "$(q "select status, processed, applied, suggested from autofill_runs where id = $run_id")" = "done|1|1|0" ]
	[ "$(q "select run_id from autofill_done where interaction_id = $i")" = "$run_id" ]
	[ "$(q "select count(*) from autofill_todo")" -eq 0 ]
}

@test "just below the threshold the value waits in the review queue instead" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.919]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[ -z "$(q "select mobile from people where email = '$SOPHIE'")" ]
	[ "$(q "select field, value, confidence, status from autofill_suggestions")" = "mobile|+33672184409|0.919|pending" ]
	[ "$(q 'select count(*) from autofill_changes')" -eq 0 ]
}

@test "--threshold and the autofill.threshold setting move the boundary; the option wins" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.94]}' >/dev/null
	run env CRM_AUTOFILL_THRESHOLD=0.95 crm-autofill
	[ "$status" -eq 0 ]
	[ "$(q 'select count(*) from autofill_changes')" -eq 0 ]
	[ "$(q 'select threshold from autofill_runs')" = "0.95" ]
	q "insert into autofill_todo select id from interactions" >/dev/null
	run env CRM_AUTOFILL_THRESHOLD=0.95 crm-autofill --threshold 0.94
	[ "$status" -eq 0 ]
	[ "$(q "select mobile from people where email = '$SOPHIE'")" = "+33672184409" ]
	run crm-autofill --threshold 1.5
	[ "$status" -eq 2 ]
}

@test "agreement across messages raises the confidence above the threshold" {
	msg $SOPHIE 2025-09-01T10:00:00Z '{"title":["Directrice commerciale",0.855]}' >/dev/null
	crm-autofill -q
	[ -z "$(q "select title from people where email = '$SOPHIE'")" ]
	[ "$(q "select confidence from autofill_suggestions where field = 'title'")" = 0.855 ]
	# a second message a month later says the same (case and accents do not
	# count): 1 - (1 - 0.855 * 0.5^(30/365)) * (1 - 0.855)
	msg $SOPHIE 2025-10-01T10:00:00Z '{"title":["Directrice Commerciale",0.855]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	exp=$(awk 'BEGIN { printf "%.4f", 1 - (1 - 0.855 * 0.5 ^ (30 / 365)) * 0.145 }')
	[ "$(q "select round(confidence::numeric, 4) from autofill_changes where field = 'title'")" = "$exp" ]
	# the newest spelling is the one written; the pending suggestion is settled
	[ "$(q "select title from people where email = '$SOPHIE'")" = "Directrice Commerciale" ]
	[ "$(q "select status from autofill_suggestions where field = 'title'")" = superseded ]
}

@test "an older value fades against a newer one that disagrees (recency)" {
	msg $PAUL 2023-01-01T10:00:00Z '{"mobile":["+33611111111",0.95]}' >/dev/null
	msg $PAUL 2025-01-01T10:00:00Z '{"mobile":["+33622222222",0.95]}' >/dev/null
	run crm-autofill -nq
	[ "$status" -eq 0 ]
	best=$(printf '%s\n' "$output" | jq -r 'select(.field == "mobile") | .value')
	[ "$best" = "+33622222222" ]
	# two messages that disagree: neither is sure enough to be applied
	[ "$(printf '%s\n' "$output" | jq -r 'select(.field == "mobile") | .action')" = "suggest" ]
}

@test "a different existing value is never overwritten: it becomes a conflict for review" {
	msg $OLIVIER 2025-10-01T10:00:00Z '{"title":["Conseiller en gestion de patrimoine",0.99],"phone":["+33478421699",0.99]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 applied"*"2 conflicts"* ]]
	[ "$(q "select title, phone from people where email = '$OLIVIER'")" = "Conseiller|+33478421630" ]
	run q "select field, value, current_value from autofill_suggestions order by field"
	[ "${lines[0]}" = "phone|+33478421699|+33478421630" ]
	[ "${lines[1]}" = "title|Conseiller en gestion de patrimoine|Conseiller" ]
	[ "$(q 'select conflicts from autofill_runs')" = 2 ]
}

@test "the same value already there is a confirmation, written nowhere but the counts" {
	msg $OLIVIER 2025-10-01T10:00:00Z '{"phone":["+33 4 78 42 16 30",0.99]}' >/dev/null
	q "update interactions set signature = jsonb_set(signature, '{fields,phone}', '\"+33478421630\"')" >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 confirmed"* ]]
	[ "$(q 'select count(*) from autofill_changes') $(q 'select count(*) from autofill_suggestions')" = "0 0" ]
}

@test "a field a person emptied or set by hand is never filled automatically" {
	q "update people set mobile = '+33600000000' where email = '$SOPHIE'" >/dev/null
	q "update people set mobile = null where email = '$SOPHIE'" >/dev/null
	[ "$(q "select provenance -> 'mobile' ->> 'method' from people where email = '$SOPHIE'")" = manual ]
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.99]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[ -z "$(q "select mobile from people where email = '$SOPHIE'")" ]
	[ "$(q "select value, status from autofill_suggestions")" = "+33672184409|pending" ]
}

@test "--undo reverts a run's changes, provenance included" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.95],"linkedin":["https://www.linkedin.com/in/sophie-marchal/",0.95]}' >/dev/null
	crm-autofill -q
	run_id=$(q "select max(id) from autofill_runs")
	[ "$(q "select linkedin_url from people where email = '$SOPHIE'")" = "linkedin.com/in/sophie-marchal" ]
	run crm-autofill --undo "$run_id"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 change(s) reverted, 0 not reverted"* ]]
	[ "$(q "select coalesce(mobile, 'NULL'), coalesce(linkedin_url, 'NULL'), provenance from people where email = '$SOPHIE'")" = "NULL|NULL|{}" ]
	[ "$(q "select status from autofill_runs where id = $run_id")" = undone ]
	# undone values are not applied again by a later run
	q "insert into autofill_todo select id from interactions" >/dev/null
	crm-autofill -q
	[ -z "$(q "select mobile from people where email = '$SOPHIE'")" ]
	# and a second undo has nothing left to do
	run crm-autofill --undo "$run_id"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 change(s) reverted, 0 not reverted"*"2 undone before"* ]]
}

@test "--undo after a person edited a field leaves it, reports it and exits 4" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.95],"phone":["+33144135280",0.95]}' >/dev/null
	crm-autofill -q
	run_id=$(q "select max(id) from autofill_runs")
	q "update people set mobile = '+33699999999' where email = '$SOPHIE'" >/dev/null
	run crm-autofill --undo "$run_id"
	[ "$status" -eq 4 ]
	[[ "$output" == *"person $(person_id $SOPHIE) mobile: not reverted, changed since (now '+33699999999')"* ]]
	[[ "$output" == *"1 change(s) reverted, 1 not reverted"* ]]
	[ "$(q "select mobile, coalesce(phone, 'NULL') from people where email = '$SOPHIE'")" = "+33699999999|NULL" ]
	[ "$(q "select undo_note from autofill_changes where field = 'mobile'")" = "changed since" ]
	# a person who typed the same value again still owns it
	q "update people set phone = '+33144135280' where email = '$SOPHIE'" >/dev/null
	run crm-autofill --undo "$run_id"
	[ "$status" -eq 4 ]
}

@test "--undo of a run that does not exist is a usage error" {
	run crm-autofill --undo 4242
	[ "$status" -eq 2 ]
	[[ "$output" == *"no autofill run 4242"* ]]
	run crm-autofill --undo x
	[ "$status" -eq 2 ]
}

@test "--limit processes that many interactions, the oldest first; the next run takes the rest" {
	for d in 01 02 03 04 05; do
		msg $PAUL 2025-10-${d}T10:00:00Z '{"name":["Paul Durand",0.9]}' >/dev/null
	done
	run crm-autofill --limit 2
	[ "$status" -eq 0 ]
	[ "$(q 'select count(*) from autofill_done')" -eq 2 ]
	[ "$(q 'select count(*) from autofill_todo where interaction_id < (select max(interaction_id) from autofill_done)')" -eq 0 ]
	run crm-autofill
	[ "$(q 'select count(*) from autofill_todo')" -eq 0 ]
	[ "$(q "select string_agg(processed::text, ',' order by id) from autofill_runs")" = "2,3" ]
}

@test "--dry-run prints every decision as JSON lines and changes nothing" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.95],"title":["Directrice",0.8]}' >/dev/null
	msg $OLIVIER 2025-10-01T10:00:00Z '{"title":["Associé",0.95]}' >/dev/null
	# (the identity sequences move: a rolled-back insert still takes a number)
	before=$(pg_dump -a "$DB" | grep -v -e '^--' -e 'setval' -e '^.restrict' -e '^.unrestrict' | sort)
	run crm-autofill --dry-run
	[ "$status" -eq 0 ]
	all_json "$(printf '%s\n' "$output" | grep '^{')"
	decisions=$(printf '%s\n' "$output" | grep '^{' | jq -c '[.action, .field, .value]' | sort | tr '\n' ' ')
	[ "$decisions" = '["apply","mobile","+33672184409"] ["conflict","title","Associé"] ["suggest","title","Directrice"] ' ]
	after=$(pg_dump -a "$DB" | grep -v -e '^--' -e 'setval' -e '^.restrict' -e '^.unrestrict' | sort)
	[ "$before" = "$after" ]
}

@test "organisation fields: website on the firm's domain, address, shared e-mail; not a personal address" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"name":["Sophie Marchal",0.95],"website":["www.valmont-gestion.fr",0.9],"email":["contact@valmont-gestion.fr",0.93],"address":[{"street":"12, avenue Hoche","postal_code":"75008","city":"Paris","country":"FR"},0.95]}' >/dev/null
	msg $PAUL 2025-10-01T10:00:00Z '{"name":["Paul Durand",0.95],"email":["paul.durand@valmont-gestion.fr",0.95]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	# the website agrees with the mail domain: 1 - (1 - 0.9) / 2 = 0.95
	[ "$(q "select website, email, address from organisations where domain = 'valmont-gestion.fr'")" = "valmont-gestion.fr|contact@valmont-gestion.fr|12, avenue Hoche, 75008 Paris, FR" ]
	[ "$(q "select confidence from autofill_changes where field = 'website'")" = 0.95 ]
}

@test "a website on another domain than the firm's waits for review" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"name":["Sophie Marchal",0.95],"website":["groupe-valmont.com",0.95]}' >/dev/null
	run crm-autofill
	[ -z "$(q "select website from organisations where domain = 'valmont-gestion.fr'")" ]
	[ "$(q "select value from autofill_suggestions where field = 'website'")" = groupe-valmont.com ]
}

@test "a person's line becomes the firm's switchboard only when two people give it" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"phone":["+33144135280",0.99]}' >/dev/null
	crm-autofill -q
	[ -z "$(q "select main_phone from organisations where domain = 'valmont-gestion.fr'")" ]
	[ "$(q "select count(*) from autofill_suggestions where field = 'main_phone'")" -eq 0 ]
	msg $PAUL 2025-10-02T10:00:00Z '{"phone":["+33144135280",0.99]}' >/dev/null
	crm-autofill -q
	[ "$(q "select main_phone from organisations where domain = 'valmont-gestion.fr'")" = "+33144135280" ]
}

@test "a signature that is not the sender's is trusted less" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"name":["Jean Dupuis",0.95],"mobile":["+33672184409",0.99]}' >/dev/null
	run crm-autofill -nq
	[ "$(printf '%s\n' "$output" | jq -r 'select(.field == "mobile") | [.action, .confidence] | join(" ")')" = "suggest 0.792" ]
}

@test "our own mail, bounces and lists are not evidence; unknown senders are counted unmatched" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.99]}' '' t >/dev/null
	msg $PAUL 2025-10-01T10:00:00Z '{"mobile":["+33672184400",0.99]}' '' f bounce >/dev/null
	msg someone@nowhere.example 2025-10-01T10:00:00Z '{"mobile":["+33672184401",0.99]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 interactions, 0 matched, 0 applied"* ]]
	[ "$(q 'select count(*) from autofill_evidence')" -eq 0 ]
	[ "$(q 'select count(*) from autofill_todo')" -eq 0 ]
}

@test "model output alone stays below the threshold" {
	msg $SOPHIE 2025-10-01T10:00:00Z '{"method":"llm","mobile":["+33672184409",0.99]}' >/dev/null
	run crm-autofill -nq
	[ "$(printf '%s\n' "$output" | jq -r 'select(.field == "mobile") | [.action, .method, .confidence] | join(" ")')" = "suggest signature-llm 0.91" ]
}

@test "enrichment proposes the firm's website and switchboard" {
	msg antoine.perrin@lumiere-am.fr 2025-10-01T10:00:00Z '{}' \
	    '{"website":"https://lumiere-am.fr/","phone":"01 86 95 22 40","confidence":0.95,"source":"search"}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[ "$(q "select website, main_phone from organisations where domain = 'lumiere-am.fr'")" = "lumiere-am.fr|+33186952240" ]
	[ "$(q "select string_agg(distinct method, ',') from autofill_changes")" = enrichment ]
}

@test "concurrent runs never process an interaction twice nor apply a field twice" {
	# 400 messages from the five people, every one proposing the same values
	psql -qAtX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
insert into interactions (record_id, account, message_id, date, from_name, from_email, signature,
	person_id, organisation_id)
select 'c' || g, 'sales@us.example', 'c' || g || '@test', '2025-10-01'::timestamptz + g * interval '1 minute',
	p.full_name, p.email,
	jsonb_build_object('fields', jsonb_build_object('mobile', '+3367218' || lpad(p.id::text, 4, '0'),
	  'title', 'Associé', 'website', split_part(p.email, '@', 2)),
	  'field_confidence', '{"mobile": 0.95, "title": 0.95, "website": 0.95}'::jsonb,
	  'confidence', 0.9, 'method', 'rules'),
	p.id, p.organisation_id
from generate_series(1, 400) g join people p on p.id = 1 + g % 5;
SQL
	# (as a program would, so that the trigger does not mark it a person's edit)
	q "select set_config('crm.writer', 'test', false); update people set title = null" >/dev/null
	for k in 1 2 3 4; do
		crm-autofill -q --batch 7 >"$BATS_TEST_TMPDIR/run$k.out" 2>&1 &
	done
	wait
	cat "$BATS_TEST_TMPDIR"/run*.out
	[ "$(q 'select count(*) from autofill_todo')" -eq 0 ]
	[ "$(q 'select sum(processed) from autofill_runs')" -eq 400 ]
	[ "$(q 'select count(*) || $$ $$ || count(distinct interaction_id) from autofill_done where run_id is not null')" = "400 400" ]
	[ "$(q "select count(*) from autofill_runs where status = 'done'")" -eq 4 ]
	# each field of each entity written once
	[ "$(q 'select count(*) from (select entity_type, entity_id, field from autofill_changes group by 1, 2, 3 having count(*) > 1) d')" -eq 0 ]
	[ "$(q "select count(*) from autofill_changes where entity_type = 'person'")" -eq 10 ]
	# and every interaction's evidence exactly once
	[ "$(q "select count(*) from autofill_evidence where field = 'mobile'")" -eq 400 ]
}

@test "a deleted interaction takes its queue entry, its done mark and its evidence with it" {
	i=$(msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.95]}')
	crm-autofill -q
	j=$(msg $PAUL 2025-10-01T10:00:00Z '{"mobile":["+33672184400",0.95]}')
	[ "$(q "select count(*) from autofill_evidence where interaction_id = $i")" -eq 1 ]
	[ "$(q "select count(*) from autofill_todo where interaction_id = $j")" -eq 1 ]
	q "delete from interactions where id in ($i, $j)" >/dev/null
	[ "$(q 'select count(*) from autofill_evidence') $(q 'select count(*) from autofill_done') $(q 'select count(*) from autofill_todo')" = "0 0 0" ]
	# the applied value stays, with its audit
	[ "$(q "select mobile from people where email = '$SOPHIE'")" = "+33672184409" ]
	[ "$(q 'select count(*) from autofill_changes')" -eq 1 ]
}

@test "the 031 migration keeps processed interactions done and queues the others, once" {
	d=$BATS_TEST_TMPDIR/sql
	mkdir -p "$d"
	for f in "$CRM_TOP"/sql/0[0-2][0-9]_*.sql "$CRM_TOP"/sql/030_*.sql; do
		cp "$f" "$d"/
	done
	q "drop schema public cascade; create schema public" >/dev/null
	CRM_SQL_DIR=$d crm-db -q migrate
	[ "$(q 'select max(version) from schema_migrations')" -eq 30 ]
	psql -qX -v ON_ERROR_STOP=1 -f "$FIX/autofill/crm.sql" >/dev/null
	a=$(msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.95]}')
	b=$(msg $PAUL 2025-10-02T10:00:00Z '{"mobile":["+33672184400",0.95]}')
	c=$(msg $OLIVIER 2025-10-03T10:00:00Z '{"title":["Associé",0.95]}')
	q "insert into autofill_runs (status) values ('done')" >/dev/null
	q "update interactions set autofilled_at = '2025-11-01T00:00:00Z', autofill_run_id = 1 where id = $b" >/dev/null
	crm-db -q migrate
	[ "$(q "select interaction_id || ' ' || run_id || ' ' || done_at from autofill_done")" = "$b 1 2025-11-01 00:00:00+00" ]
	[ "$(q 'select string_agg(interaction_id::text, $$ $$ order by 1) from autofill_todo')" = "$a $c" ]
	[ "$(q "select count(*) from information_schema.columns where table_name = 'interactions' and column_name like 'autofill%'")" -eq 0 ]
	# again by hand: nothing changes
	psql -qX -v ON_ERROR_STOP=1 -c 'set client_min_messages = warning' -f "$CRM_TOP"/sql/031_*.sql >/dev/null
	[ "$(q 'select count(*) from autofill_done') $(q 'select count(*) from autofill_todo')" = "1 2" ]
	# the next run takes the two left
	run crm-autofill
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 interactions, 2 matched"* ]]
	[ "$(q "select mobile from people where email = '$PAUL'")" = "" ]
	[ "$(q "select mobile from people where email = '$SOPHIE'")" = "+33672184409" ]
}

@test "--stdin: records matched by address, then by domain; bad lines rejected with their line" {
	cat >"$BATS_TEST_TMPDIR/in.jsonl" <<EOF
{"id":"r1","date":"2025-10-01T10:00:00Z","from":{"name":"Sophie Marchal","email":"Sophie.Marchal@valmont-gestion.fr"},"signature":$(sig '{"mobile":["+33672184409",0.95]}')}
not json
{"id":"r2","date":"2025-10-01T10:00:00Z","from":{"name":"Inconnu","email":"x.y@lumiere-am.fr"},"signature":$(sig '{"website":["lumiere-am.fr",0.95],"mobile":["+33600000001",0.99]}')}
{"id":"r3","from":{"name":"Nobody"}}
{"id":"r4","from":{"email":"a@b.fr"},"signature":"text"}
{"id":"r5","date":"yesterday","from":{"email":"a@b.fr"}}
{"from":{"email":"a@b.fr"}}
EOF
	run crm-autofill --stdin --rejects "$BATS_TEST_TMPDIR/rej" "$BATS_TEST_TMPDIR/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"in.jsonl:2: "* ]]
	[[ "$output" == *"in.jsonl:4: record has no \"from\" address"* ]]
	[[ "$output" == *"in.jsonl:5: \"signature\" is not an object"* ]]
	[[ "$output" == *"in.jsonl:6: \"date\" is not an ISO-8601 date"* ]]
	[[ "$output" == *"in.jsonl:7: record has no \"id\""* ]]
	[[ "$output" == *"2 records, 2 matched, 2 applied"* ]]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej")" -eq 5 ]
	[ "$(q "select mobile from people where email = '$SOPHIE'")" = "+33672184409" ]
	[ "$(q "select website from organisations where domain = 'lumiere-am.fr'")" = "lumiere-am.fr" ]
	[ "$(q "select source_ref from autofill_changes where field = 'mobile'")" = "r:r1" ]
}

@test "--stdin with a record already stored uses the stored interaction as its source" {
	i=$(msg $SOPHIE 2025-10-01T10:00:00Z '{"mobile":["+33672184409",0.95]}')
	rid=$(q "select record_id from interactions where id = $i")
	printf '{"id":"%s","from":{"email":"%s"},"signature":%s}\n' "$rid" $SOPHIE \
	    "$(q "select signature from interactions where id = $i")" >"$BATS_TEST_TMPDIR/in.jsonl"
	run crm-autofill --stdin <"$BATS_TEST_TMPDIR/in.jsonl"
	[ "$status" -eq 0 ]
	[ "$(q "select interaction_id from autofill_changes")" = "$i" ]
	# processing it later from the database adds no second piece of evidence:
	# the one there is the later run's
	crm-autofill -q
	[ "$(q 'select count(*) from autofill_evidence')" -eq 1 ]
	[ "$(q 'select run_id from autofill_evidence')" = "$(q 'select max(id) from autofill_runs')" ]
}

@test "a huge and odd input does not break it: long values are ignored, UTF-8 kept" {
	long=$(head -c 5000 /dev/zero | tr '\0' x)
	msg $SOPHIE 2025-10-01T10:00:00Z "{\"title\":[\"$long\",0.99],\"mobile\":[\"not a phone\",0.99]}" >/dev/null
	msg $PAUL 2025-10-01T10:00:00Z '{"title":["Chargé d’affaires — Île-de-France",0.99]}' >/dev/null
	run crm-autofill
	[ "$status" -eq 0 ]
	[ -z "$(q "select title from people where email = '$SOPHIE'")" ]
	[ "$(q "select title from people where email = '$PAUL'")" = "Chargé d’affaires — Île-de-France" ]
}

@test "a database that is down: exit 3 and a clear message" {
	PGHOST=/nonexistent run crm-autofill
	[ "$status" -eq 3 ]
	[[ "$output" == *"cannot connect to the database"* ]]
}

@test "usage errors exit 2" {
	run crm-autofill --limit 0
	[ "$status" -eq 2 ]
	run crm-autofill --undo 1 --dry-run
	[ "$status" -eq 2 ]
	run crm-autofill somefile
	[ "$status" -eq 2 ]
	run crm-autofill --user nobody-here
	[ "$status" -eq 2 ]
	[[ "$output" == *"no user 'nobody-here'"* ]]
}

@test "scripts/crontab.example runs: hourly autofill of 50, weekly expiry" {
	f="$CRM_TOP/scripts/crontab.example"
	[ -f "$f" ]
	grep -Eq '^[0-9*]+ +\* +\* +\* +\* +.*crm-autofill .*--limit 50' "$f"
	grep -Eq '^[0-9]+ +[0-9]+ +\* +\* +[0-7] +.*crm-learn expire' "$f"
	for i in $(seq 60); do
		msg $PAUL 2025-10-01T10:00:00Z '{"name":["Paul Durand",0.9]}' >/dev/null
	done
	n=0
	while IFS= read -r line; do
		case $line in ''|'#'*|*=*) continue ;; esac
		cmd=$(printf '%s\n' "$line" | awk '{ for (i = 6; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "") }')
		run sh -c "$cmd"
		[ "$status" -eq 0 ] || { echo "$cmd: $output"; return 1; }
		n=$((n + 1))
	done <"$f"
	[ "$n" -ge 2 ]
	[ "$(q 'select count(*) from autofill_todo')" -eq 10 ]
}
