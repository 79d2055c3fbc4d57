#!/usr/bin/env bats
# crm-route: rules from a file and from routing_rules, precedence by
# priority, conditions, the cascade to the organisation's owner and a
# default, --explain, the stage contract, malformed rules files.

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
	R=$FIX/autofill/rules.txt
}

# route FILTER RECORD [OPTIONS...]: route one record with the fixture rules
route() {
	local rec=$1
	shift
	printf '%s\n' "$rec" | crm-route --rules "$R" "$@" | jq -c .route
}

quote='{"from":{"email":"jean@client.example"},"subject":"Demande de DEVIS","intent":{"label":"quote_request"}}'

@test "the first matching rule by priority wins; ties go to the earlier rule" {
	json_eq "$(route "$quote")" '{"assignee":"bob","rule_id":"quotes","by":"rule"}'
	# a quote request from Valmont: "valmont" (priority 5) comes before "quotes" (10)
	json_eq "$(route '{"from":{"email":"x@valmont-gestion.fr"},"subject":"devis","intent":{"label":"quote_request"}}')" \
	    '{"assignee":"alice","rule_id":"valmont","by":"owner"}'
	# "complaints" and "angry" have the same priority: the first in the file wins
	json_eq "$(route '{"from":{"email":"x@client.example"},"subject":"x","text":"c est inadmissible","intent":{"label":"complaint"}}')" \
	    '{"assignee":"carol","rule_id":"complaints","by":"rule"}'
}

@test "conditions: intent, auto, sender domain and subdomains, subject and text patterns, owner" {
	json_eq "$(route '{"from":{"email":"a@b.example"},"auto":"out_of_office"}')" \
	    '{"assignee":"dave","rule_id":"automatic","by":"rule"}'
	json_eq "$(route '{"from":{"email":"a@mail.ferrand-patrimoine.fr"},"subject":"x"}')" \
	    '{"assignee":"carol","rule_id":"ferrand","by":"rule"}'
	# the text pattern is read in the reply part when there is one
	json_eq "$(route '{"from":{"email":"a@b.example"},"text":"old: urgent","body":{"reply":"merci","quoted":"urgent"}}')" \
	    '{"assignee":"dave","rule_id":null,"by":"default"}'
	json_eq "$(route '{"from":{"email":"a@b.example"},"text":"C est URGENT svp"}')" \
	    '{"assignee":"bob","rule_id":"urgent","by":"rule"}'
	# owner condition: Ferrand's owner is bob
	json_eq "$(route '{"from":{"email":"a@ferrand-patrimoine.fr"},"intent":{"label":"unsubscribe"}}')" \
	    '{"assignee":"alice","rule_id":"bobs-unsubscribes","by":"rule"}'
}

@test "cascade: a rule may hand over to the organisation's owner, then to the default" {
	# no rule: the owner of the sender's organisation (by domain)
	json_eq "$(route '{"from":{"email":"new@ferrand-patrimoine.fr"},"subject":"x"}' --rules "$FIX/autofill/rules-min.txt")" \
	    '{"assignee":"bob","rule_id":null,"by":"owner"}'
	# a firm without owner: the default of the rules file, or --default
	json_eq "$(route '{"from":{"email":"x@lumiere-am.fr"}}')" '{"assignee":"dave","rule_id":null,"by":"default"}'
	json_eq "$(route '{"from":{"email":"x@lumiere-am.fr"}}' --default carol)" '{"assignee":"carol","rule_id":null,"by":"default"}'
	# no default anywhere: nobody
	json_eq "$(printf '%s\n' '{"from":{"email":"x@lumiere-am.fr"}}' | crm-route --rules "$FIX/autofill/rules-min.txt" | jq -c .route)" \
	    '{"assignee":null,"rule_id":null,"by":null}'
	# route.default from the configuration, below the rules file's own default
	printf 'route.default = carol\n' >"$BATS_TEST_TMPDIR/crm.conf"
	json_eq "$(printf '%s\n' '{"from":{"email":"x@lumiere-am.fr"}}' | CRM_CONFIG="$BATS_TEST_TMPDIR/crm.conf" crm-route --rules "$FIX/autofill/rules-min.txt" | jq -c .route)" \
	    '{"assignee":"carol","rule_id":null,"by":"default"}'
}

@test "the person's own organisation wins over the domain for the owner" {
	q "insert into people (email, organisation_id) values ('consultant@gmail.com', (select id from organisations where domain = 'ferrand-patrimoine.fr'))" >/dev/null
	json_eq "$(route '{"from":{"email":"consultant@gmail.com"}}' --rules "$FIX/autofill/rules-min.txt")" \
	    '{"assignee":"bob","rule_id":null,"by":"owner"}'
}

@test "--no-db: owners are unknown, the rest works" {
	json_eq "$(route '{"from":{"email":"x@valmont-gestion.fr"},"subject":"hi"}' --no-db)" \
	    '{"assignee":"dave","rule_id":"valmont","by":"default"}'
	run crm-route --no-db </dev/null
	[ "$status" -eq 2 ]
}

@test "--explain says which rules were tried and why" {
	run sh -c "printf '%s\n' '$quote' | crm-route --rules '$R' --explain | jq -c .route.explain"
	[ "$status" -eq 0 ]
	json_eq "$output" '["rule valmont (priority 5): no, domain","rule automatic (priority 8): no, auto","rule quotes (priority 10): matched"]'
}

@test "rules from the routing_rules table; disabled rules are skipped" {
	q "insert into routing_rules (name, priority, match_intent, assignee) values
	    ('q-table', 1, 'quote_request, meeting_request', 'carol'),
	    ('off', 0, null, 'nobody')" >/dev/null
	q "update routing_rules set enabled = false where name = 'off'" >/dev/null
	q "insert into routing_rules (name, priority, match_subject, assignee) values ('facture', 2, '(?i)factur', null)" >/dev/null
	json_eq "$(printf '%s\n' "$quote" | crm-route | jq -c .route)" '{"assignee":"carol","rule_id":"q-table","by":"rule"}'
	json_eq "$(printf '%s\n' '{"from":{"email":"a@ferrand-patrimoine.fr"},"subject":"Facture 12"}' | crm-route | jq -c .route)" \
	    '{"assignee":"bob","rule_id":"facture","by":"owner"}'
	q "insert into routing_rules (name, match_text) values ('broken', 'a(b')" >/dev/null
	run crm-route </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"routing_rules 'broken'"*"bad pattern"* ]]
}

@test "a stage: other keys pass through, bad lines are rejected with their line, exit 1" {
	printf '%s\nnot json\n{"from":{"email":"x@y.example"},"keep":{"a":[1,2]}}\n' "$quote" >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr crm-route --rules "$R" --no-db "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"in:2: "* ]]
	[ "${#lines[@]}" -eq 2 ]
	jq_is '.keep | @json' '{"a":[1,2]}' "${lines[1]}"
	jq_is '.subject' 'Demande de DEVIS' "${lines[0]}"
	# an existing route is replaced
	run sh -c "printf '%s\n' '{\"route\":{\"assignee\":\"old\"},\"auto\":\"bounce\"}' | crm-route --rules '$R' --no-db | jq -c .route"
	json_eq "$output" '{"assignee":"dave","rule_id":"automatic","by":"rule"}'
}

@test "malformed rules files: exit 2 and the file and line named" {
	bad() {
		printf "$1" >"$BATS_TEST_TMPDIR/bad.rules"
		run crm-route --rules "$BATS_TEST_TMPDIR/bad.rules" --check
		[ "$status" -eq 2 ] || { echo "exit $status for: $1"; return 1; }
		[[ "$output" == *"bad.rules:$2: $3"* ]] || { echo "$output"; return 1; }
	}
	bad 'rule a\n  intnt quote_request\n' 2 "unknown keyword 'intnt'"
	bad '# x\nintent quote_request\n' 2 "'intent' outside a rule"
	bad 'rule a\n  intent quote_requests\n' 2 "unknown intent 'quote_requests'"
	bad 'rule a\n\n  subject a(b\n' 3 "subject: bad pattern at offset 3"
	bad 'rule a\nrule a\n' 2 "rule 'a' is defined twice"
	bad 'rule a priority high\n' 1 "expected 'rule NAME [priority N]'"
	bad 'rule a\n  auto maybe\n' 2 "unknown auto 'maybe'"
	bad 'rule a\n  assign\n' 2 "assign needs one login"
	bad 'rule a\n  domain a.fr\n  domain b.fr\n' 3 "domain given twice"
	run crm-route --rules /nonexistent/rules --check
	[ "$status" -eq 2 ]
	run crm-route --rules "$R" --check
	[ "$status" -eq 0 ]
	[[ "$output" == *"8 rule(s), syntax ok"* ]]
}
