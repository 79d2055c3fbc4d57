#!/usr/bin/env bats
# crm-review against a real PostgreSQL: the queue and its filters, one
# suggestion with its message, approve and reject one by one and by
# filter, and what decisions leave behind (audit, feedback, metrics,
# preferences).

load helper

setup_file() {
	load pg
	pg_start
}

teardown_file() {
	load pg
	pg_stop
}

SOPHIE=sophie.marchal@valmont-gestion.fr
PAUL=paul.durand@valmont-gestion.fr
OLIVIER=olivier@ferrand-patrimoine.fr

# A queue of four: Sophie's title (0.855) and phone (0.90), Paul's title
# (0.6), Olivier's conflicting title (0.95 against "Conseiller").
setup() {
	load pg
	load fixtures/autofill/helpers
	af_reset
	msg $SOPHIE 2025-10-01T10:00:00Z '{"title":["Directrice",0.855],"phone":["+33144135280",0.90]}' >/dev/null
	msg $PAUL 2025-10-01T10:00:00Z '{"title":["Analyste",0.6]}' >/dev/null
	msg $OLIVIER 2025-10-01T10:00:00Z '{"title":["Associé",0.95]}' >/dev/null
	crm-autofill -q
	[ "$(q "select count(*) from autofill_suggestions where status = 'pending'")" -eq 4 ]
}

sid() {   # sid FIELD EMAIL: the suggestion's id
	q "select s.id from autofill_suggestions s join people p on p.id = s.entity_id
	    where s.entity_type = 'person' and s.field = '$1' and p.email = '$2'"
}

@test "list in a pipe: one JSON object per pending suggestion, oldest first, with the entity's name" {
	run --separate-stderr crm-review list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	all_json
	jq_is '[.entity, .field, .value, .confidence, .status] | @json' \
	    '["Sophie Marchal","phone","+33144135280",0.9,"pending"]' "${lines[0]}"
	jq_is '.current_value' 'Conseiller' "$(printf '%s\n' "$output" | grep Associ)"
}

@test "list filters: field, entity, confidence, age, status, run" {
	run --separate-stderr crm-review list --field title
	[ "${#lines[@]}" -eq 3 ]
	run --separate-stderr crm-review list --entity person:$(person_id $PAUL)
	[ "${#lines[@]}" -eq 1 ]
	jq_is .value Analyste
	run --separate-stderr crm-review list --entity organisation
	[ -z "$output" ]
	run --separate-stderr crm-review list --min-confidence 0.855 --max-confidence 0.9
	[ "$(printf '%s\n' "$output" | jq -r .value | sort | tr '\n' ' ')" = "+33144135280 Directrice " ]
	q "update autofill_suggestions set created_at = now() - interval '10 days' where field = 'phone'" >/dev/null
	run --separate-stderr crm-review list --older-than 7d
	[ "${#lines[@]}" -eq 1 ]
	jq_is .field phone
	run --separate-stderr crm-review list --newer-than 7d
	[ "${#lines[@]}" -eq 3 ]
	run --separate-stderr crm-review list --run 999
	[ -z "$output" ]
	run crm-review list --field colour
	[ "$status" -eq 2 ]
	run crm-review list --older-than soon
	[ "$status" -eq 2 ]
}

@test "list --table: a readable table with a header" {
	run --separate-stderr crm-review list --table --field title
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"ID"*"ENTITY"*"FIELD"*"VALUE"*"CURRENT"*"CONF"* ]]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" == *"Olivier Ferrand"*"title"*"Associé"*"Conseiller"*"0.95"* ]]
}

@test "show ID: the suggestion with the message it came from" {
	id=$(sid title $SOPHIE)
	run --separate-stderr crm-review show "$id"
	[ "$status" -eq 0 ]
	jq_is '[.id, .field, .value, .message.from_email, .message.subject, .message.excerpt, .evidence.messages] | @json' \
	    "[$id,\"title\",\"Directrice\",\"$SOPHIE\",\"Re: votre proposition\",\"Bonjour, merci.\",1]"
	run crm-review show --table "$id"
	[[ "$output" == *"value"*"Directrice"*"from     Sophie Marchal <$SOPHIE>"* ]]
	run crm-review show 4242
	[ "$status" -eq 2 ]
	[[ "$output" == *"no suggestion 4242"* ]]
}

@test "approve applies the value, audited with the reviewer; feedback, metrics and preference follow" {
	id=$(sid title $SOPHIE)
	run crm-review --user alice approve "$id"
	[ "$status" -eq 0 ]
	alice=$(q "select id from users where login = 'alice'")
	[ "$(q "select title, provenance -> 'title' ->> 'method', provenance -> 'title' ->> 'user_id' from people where email = '$SOPHIE'")" = "Directrice|review|$alice" ]
	[ "$(q "select suggestion_id, coalesce(old_value, 'NULL'), new_value, applied_by, coalesce(run_id::text, 'NULL') from autofill_changes")" = "$id|NULL|Directrice|$alice|NULL" ]
	[ "$(q "select status, decided_by from autofill_suggestions where id = $id")" = "approved|$alice" ]
	[ "$(q "select decision, user_id, field, value, method from ai_feedback")" = "accept|$alice|title|Directrice|signature" ]
	[ "$(q "select field, method, decisions, accepted, rejected, precision from ai_accuracy_metrics")" = "title|signature|1|1|0|1" ]
	[ "$(q "select choice, source, field, value from ai_user_preferences where user_id = $alice")" = "accept|review|title|Directrice" ]
}

@test "reject leaves the CRM alone and lowers the precision of the field and method" {
	crm-review -q --user bob approve "$(sid title $SOPHIE)"
	run crm-review --user bob reject "$(sid title $PAUL)" "$(sid phone $SOPHIE)"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rejected 2 suggestion(s)"* ]]
	[ -z "$(q "select title from people where email = '$PAUL'")" ]
	run q "select field, decisions, accepted, rejected, round(precision::numeric, 3) from ai_accuracy_metrics order by field"
	[ "${lines[0]}" = "phone|1|0|1|0.000" ]
	[ "${lines[1]}" = "title|2|1|1|0.500" ]
	[ "$(q "select count(*) from ai_feedback where decision = 'reject'")" -eq 2 ]
	# a rejected value is not proposed again for that field
	q "insert into autofill_todo select id from interactions" >/dev/null
	crm-autofill -q
	[ "$(q "select count(*) from autofill_suggestions where field = 'title' and value = 'Analyste'")" -eq 1 ]
}

@test "approving a conflict replaces the value (a person decided) and keeps the old one in the audit" {
	run crm-review approve "$(sid title $OLIVIER)"
	[ "$status" -eq 0 ]
	[ "$(q "select title from people where email = '$OLIVIER'")" = "Associé" ]
	[ "$(q "select old_value, new_value, coalesce(applied_by::text, 'NULL') from autofill_changes")" = "Conseiller|Associé|NULL" ]
}

@test "approve by filter asks; without a terminal it needs --yes and changes nothing" {
	run crm-review approve --field title --min-confidence 0.8
	[ "$status" -eq 2 ]
	[[ "$output" == *"2 suggestion(s) match: give --yes"* ]]
	[ "$(q "select count(*) from autofill_suggestions where status = 'pending'")" -eq 4 ]
	run crm-review approve --field title --min-confidence 0.8 --yes
	[ "$status" -eq 0 ]
	[[ "$output" == *"approved 2 suggestion(s)"* ]]
	[ "$(q "select count(*) from autofill_suggestions where status = 'approved'")" -eq 2 ]
	run crm-review reject --field mobile --yes
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to reject"* ]]
}

@test "unknown ids change nothing and exit 2; decided ones are reported and exit 1" {
	id=$(sid title $SOPHIE)
	run crm-review approve "$id" 4242
	[ "$status" -eq 2 ]
	[[ "$output" == *"no suggestion [4242]"* ]]
	[ "$(q "select status from autofill_suggestions where id = $id")" = pending ]
	crm-review -q reject "$id"
	run crm-review approve "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"suggestion $id: already decided"* ]]
	[ -z "$(q "select title from people where email = '$SOPHIE'")" ]
	run crm-review approve abc
	[ "$status" -eq 2 ]
	run crm-review approve "$id" --field title
	[ "$status" -eq 2 ]
	run crm-review --user nobody-here approve "$id"
	[ "$status" -eq 2 ]
	run crm-review frobnicate
	[ "$status" -eq 2 ]
}

@test "two reviewers approving the same suggestion at once apply it once" {
	id=$(sid phone $SOPHIE)
	crm-review -q approve "$id" >"$BATS_TEST_TMPDIR/a" 2>&1 &
	crm-review -q approve "$id" >"$BATS_TEST_TMPDIR/b" 2>&1 &
	wait || true
	[ "$(q 'select count(*) from autofill_changes')" -eq 1 ]
	[ "$(q 'select decisions from ai_accuracy_metrics')" -eq 1 ]
}

@test "a suggestion whose person was deleted cannot be approved" {
	id=$(sid title $PAUL)
	q "delete from people where email = '$PAUL'" >/dev/null
	run crm-review approve "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"was deleted"* ]]
}
