#!/usr/bin/env bats
# crm-learn against a real PostgreSQL: tracking choices, the boost (its
# arithmetic, cap, team fallback, expiry), patterns and statistics, forget
# and expire, and the boost as autofill uses it.

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

track() {   # track USER|team:NAME VALUE CHOICE [N]: N times
	local who=--user=$1 k
	case $1 in team:*) who=--team=${1#team:} ;; esac
	for k in $(seq "${4:-1}"); do
		crm-learn -q track "$who" --field title --value "$2" --choice "$3" || return 1
	done
}

boost() {   # boost USER VALUE: the boost as JSON
	crm-learn boost --user "$1" --field title --value "$2" | jq -r .boost
}

@test "the boost is +0.10 per accept of the same value by that user, capped at +0.50" {
	[ "$(boost alice Associé)" = 0 ]
	for n in 1 2 3 4 5 6 7; do
		track alice Associé accept
		exp=$(awk -v n=$n 'BEGIN { b = n / 10; if (b > 0.5) b = 0.5; print b }')
		[ "$(boost alice Associé)" = "$exp" ] || { echo "after $n accepts: $(boost alice Associé), expected $exp"; return 1; }
	done
	# another value, rejects and other choices do not count
	track alice Gérant reject 3
	track alice Gérant ignore
	track alice Gérant manual
	[ "$(boost alice Gérant)" = 0 ]
	[ "$(crm-learn boost --user alice --field phone --value Associé | jq -r .boost)" = 0 ]
}

@test "the team's accepts count when the user has none; the user's own win when there are any" {
	track bob Associé accept 2          # bob: team sales
	track team:sales Associé accept     # tracked for the team itself
	run crm-learn boost --user alice --field title --value Associé
	[ "$status" -eq 0 ]
	json_eq "$output" '{"field":"title","value":"Associé","accepts":3,"from_team":true,"boost":0.3}'
	track alice Associé accept
	json_eq "$(crm-learn boost --user alice --field title --value Associé)" \
	    '{"field":"title","value":"Associé","accepts":1,"from_team":false,"boost":0.1}'
	# carol is in another team
	[ "$(boost carol Associé)" = 0 ]
	# dave has no team: no fallback
	[ "$(boost dave Associé)" = 0 ]
}

@test "expired preferences do not count and expire drops them" {
	track alice Associé accept 3
	track alice Gérant accept
	q "update ai_user_preferences set expires_at = now() - interval '1 second' where value = 'Associé'" >/dev/null
	[ "$(boost alice Associé)" = 0 ]
	run crm-learn expire
	[ "$status" -eq 0 ]
	[[ "$output" == *"expired 3 preference(s)"* ]]
	[ "$(q 'select count(*) from ai_user_preferences')" -eq 1 ]
	# a choice is kept 90 days unless told otherwise
	[ "$(q "select round(extract(epoch from expires_at - created_at) / 86400) from ai_user_preferences")" = 90 ]
	crm-learn -q track --user alice --field title --value X --choice accept --days 7
	[ "$(q "select round(extract(epoch from expires_at - created_at) / 86400) from ai_user_preferences where value = 'X'")" = 7 ]
}

@test "forget --user erases that user's preferences and nobody else's" {
	track alice Associé accept 2
	track bob Associé accept
	run crm-learn forget --user alice
	[ "$status" -eq 0 ]
	[[ "$output" == *"forgot 2 preference(s) of alice"* ]]
	[ "$(q "select count(*) from ai_user_preferences p join users u on u.id = p.user_id where u.login = 'alice'")" -eq 0 ]
	[ "$(q 'select count(*) from ai_user_preferences')" -eq 1 ]
	run crm-learn forget
	[ "$status" -eq 2 ]
	run crm-learn forget --user nobody-here
	[ "$status" -eq 2 ]
}

@test "track keeps rank, confidence, source and entity type" {
	run crm-learn track --user alice --field phone --value +33144135280 --choice accept \
	    --rank 2 --confidence 0.87 --source suggest --entity org
	[ "$status" -eq 0 ]
	[ "$(q "select rank, confidence, source, entity_type, team_id from ai_user_preferences")" = "2|0.87|suggest|organisation|$(q "select id from teams where name = 'sales'")" ]
}

@test "patterns and stats for a user, a team and everybody" {
	track alice Associé accept 3
	track alice Associé reject
	track alice Gérant reject
	track carol Associé accept
	run --separate-stderr crm-learn patterns --user alice --field title
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	jq_is '[.value, .accept, .reject, .boost] | @json' '["Associé",3,1,0.3]' "${lines[0]}"
	jq_is '[.value, .accept, .reject] | @json' '["Gérant",0,1]' "${lines[1]}"
	run --separate-stderr crm-learn stats --user alice
	json_eq "$output" '{"choices":5,"accept":3,"reject":2,"manual":0,"ignore":0,"accept_rate":0.6,"top_fields":[{"field":"title","choices":5,"accept_rate":0.6}]}'
	run --separate-stderr crm-learn stats --team sales
	jq_is .choices 5
	run --separate-stderr crm-learn stats
	jq_is '[.choices, .accept] | @json' '[6,4]'
	run crm-learn stats --table
	[[ "$output" == *"accept rate  0.6667"* ]]
}

@test "autofill adds the owner's boost, and never goes above 1.0" {
	# Sophie's owner is alice; a title at 0.85 with one accept of it: 0.95
	msg sophie.marchal@valmont-gestion.fr 2025-10-01T10:00:00Z '{"title":["Associée",0.85]}' >/dev/null
	track alice Associée accept
	run crm-autofill
	[ "$status" -eq 0 ]
	[ "$(q "select title from people where email = 'sophie.marchal@valmont-gestion.fr'")" = Associée ]
	[ "$(q "select confidence from autofill_changes")" = 0.95 ]
	# Olivier's owner is bob (same team): alice's 6 accepts count for him
	# through the team, capped at +0.5, and 0.8 + 0.5 stops at 1.0
	q "select set_config('crm.writer', 'test', false); update people set title = null" >/dev/null
	msg olivier@ferrand-patrimoine.fr 2025-10-01T10:00:00Z '{"title":["Associée",0.8]}' >/dev/null
	track alice Associée accept 5
	run crm-autofill -nq
	jq_is 'select(.field == "title") | [.confidence, .base_confidence, .boost] | @json' '[1,0.8,0.5]'
	# entities without owner use --user's preferences
	msg antoine.perrin@lumiere-am.fr 2025-10-01T10:00:00Z '{"title":["Associée",0.5]}' >/dev/null
	run crm-autofill -nq
	jq_is 'select(.entity_id == '"$(person_id antoine.perrin@lumiere-am.fr)"') | .boost' 0
	run crm-autofill -nq --user carol
	jq_is 'select(.entity_id == '"$(person_id antoine.perrin@lumiere-am.fr)"') | .boost' 0
	run crm-autofill -nq --user alice
	jq_is 'select(.entity_id == '"$(person_id antoine.perrin@lumiere-am.fr)"') | [.boost, .confidence] | @json' '[0.5,1]'
}

@test "bad input: unknown user or team, bad choice, missing options, unknown command" {
	run crm-learn track --user nobody-here --field title --value x --choice accept
	[ "$status" -eq 2 ]
	run crm-learn track --team nowhere --field title --value x --choice accept
	[ "$status" -eq 2 ]
	run crm-learn track --user alice --field title --value x --choice maybe
	[ "$status" -eq 2 ]
	run crm-learn track --user alice --field title --choice accept
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs --field, --value and --choice"* ]]
	run crm-learn track --field title --value x --choice accept
	[ "$status" -eq 2 ]
	run crm-learn track --user alice --field 'title; drop table users' --value x --choice accept
	[ "$status" -eq 2 ]
	run crm-learn stats patterns
	[ "$status" -eq 2 ]
	run crm-learn remember
	[ "$status" -eq 2 ]
	[ "$(q 'select count(*) from users')" -eq 4 ]
}
