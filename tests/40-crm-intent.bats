#!/usr/bin/env bats
# crm-intent: intent labels, automatic mail, entities, rules files, bad input.

load helper

# rec TEXT [SUBJECT] [HEADERS-JSON] [DATE]: one message record on stdout
rec() {
	jq -cn --arg t "$1" --arg s "${2-Re: Alforis}" --argjson h "${3-{\}}" \
	    --arg d "${4-2025-11-05T09:00:00Z}" \
	    '{v: 1, id: "x", date: $d, from: {name: "A B", email: "a@b.fr"},
	      to: [{name: "J C", email: "j.caradec@alforis.fr"}], subject: $s,
	      headers: $h, text: $t}'
}

label() {
	rec "$@" | crm-intent | jq -r .intent.label
}

@test "the labelled corpus goes through crm-sync | crm-intent, every record labelled" {
	run sh -c "crm-sync --maildir '$FIX/intents' | crm-intent"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq "$(wc -l <"$FIX/intents/labels.jsonl")" ]
	all_json
	printf '%s\n' "$output" | jq -e -s 'all(.intent.label and (.intent.confidence | type == "number")
	    and (.auto | test("^(none|out_of_office|bounce|auto_reply|mailing_list)$"))
	    and .intent.method == "rules")' >/dev/null
}

@test "images' alt text ([image: ...]) is not read for the intent" {
	[ "$(label $'Bonjour,\n\nBien reçu, merci.\n\n[image: Se désabonner] [image: Demander un devis]\n\nBonne journée')" = other ]
	# the same words written out are read
	[ "$(label $'Bonjour,\n\nBien reçu, merci.\n\nSe désabonner\n\nBonne journée')" = unsubscribe ]
	[ "$(label $'Bonjour,\n\nPourriez-vous m\'envoyer un devis pour 20 licences ?\n\n[image: Logo]')" = quote_request ]
}

@test "scorer: macro-F1 and auto accuracy on the corpus stay above their guards" {
	run "$CRM_TOP/tests/bench/score-intents"
	[ "$status" -eq 0 ]
	echo "$output" | tail -n 3
	f1=$(echo "$output" | awk '/^macro_f1/ { print $2 }')
	acc=$(echo "$output" | awk '/^auto_accuracy/ { print $2 }')
	# measured 1.000 and 1.000 on the 1050 messages; the guards sit under them
	awk -v f="$f1" -v a="$acc" 'BEGIN { exit !(f >= 0.97 && a >= 0.99) }'
}

@test "negation and politeness: refusals are not interest" {
	[ "$(label "Je ne suis pas intéressé, merci.")" = not_interested ]
	[ "$(label "Merci pour votre message, mais non.")" = not_interested ]
	[ "$(label "Pas pour le moment, merci beaucoup.")" = not_interested ]
	[ "$(label "Ce n'est pas le bon moment pour nous.")" = not_interested ]
	[ "$(label "Ça ne m'intéresse pas vraiment.")" = not_interested ]
	[ "$(label "Votre offre m'intéresse beaucoup !")" = interested ]
	[ "$(label "Thanks, but we are not interested.")" = not_interested ]
}

@test "a phrase or a negation cut by a client's line wrap still counts" {
	# each phrase straddles a wrap at about 78 columns, as plain-text clients send it
	t=$(printf 'Bonjour, avant de présenter le fonds à notre comité, pourriez-vous me dire quelle\nrétrocession vous seriez prêts à consentir sur la part R ?')
	[ "$(label "$t")" = quote_request ]
	t=$(printf 'Merci pour votre relance. Le sujet reste pertinent mais pas avant la clôture, recontactez-moi début\njanvier et nous regarderons cela.')
	[ "$(label "$t")" = follow_up ]
	t=$(printf 'Bonjour, merci pour la présentation de votre fonds obligataire, mais nous ne\nsouhaitons pas donner suite pour le moment.')
	[ "$(label "$t")" = not_interested ]
}

@test "a fee said to be charged is a complaint; the same fee asked about is a quote" {
	[ "$(label "The management fee charged on our Q3 statement is 1.20% whereas the agreed rate is 0.80%. Please correct this.")" = complaint ]
	[ "$(label "Les droits d'entrée prélevés ne sont pas ceux prévus : on nous a facturé 3 % alors que la convention prévoit 1 %.")" = complaint ]
	[ "$(label "What management fee is charged on the R share?")" = quote_request ]
	[ "$(label "Pourriez-vous m'indiquer les frais de gestion de la part I ?")" = quote_request ]
}

@test "referral, out of office and the difference between them" {
	[ "$(label "Je ne suis plus en charge de ce dossier, contactez plutôt Mme Durand.")" = referral ]
	[ "$(label "I have left the company, please reach out to Tom.")" = referral ]
	out=$(rec "Je suis absente jusqu'au 12 novembre. En cas d'urgence, contactez plutôt ma collègue Anne Petit au 01 42 33 44 55." \
	    "Absence : Re: Alforis" '{"auto-submitted":"auto-replied"}' | crm-intent)
	jq_is .intent.label out_of_office "$out"
	jq_is .auto out_of_office "$out"
	jq_is .auto_detail.return_date 2025-11-12 "$out"
	jq_is .auto_detail.contact.name "Anne Petit" "$out"
	jq_is .auto_detail.contact.phone +33142334455 "$out"
}

@test "a person's own absence naming a stand-in is out_of_office, written by a person" {
	# to Julien, greeted by name: no responder knows whom it answers
	prec() {
		jq -cn --arg t "$1" '{v: 1, id: "x", date: "2025-11-05T09:00:00Z",
		    from: {name: "A B", email: "a@b.fr"},
		    to: [{name: "Julien Caradec", email: "j.caradec@alforis.fr"}],
		    subject: "Re: Alforis", headers: {}, text: $t}'
	}
	out=$(prec "Bonjour Julien, je suis absent jusqu'au 3 mars, merci de voir avec Anne si c'est urgent. On en reparle à mon retour." | crm-intent)
	jq_is .intent.label out_of_office "$out"
	jq_is .auto none "$out"
	out=$(prec "je pars en conges ce soir, retour le 6 janvier. en attendant vous pouvez joindre mon assistante." | crm-intent)
	jq_is .intent.label out_of_office "$out"
	jq_is .auto none "$out"
	# an absence told in passing, with no one to see instead, is not a notice
	out=$(prec "Bonjour Julien, je suis en arrêt pour quelques jours, mais je lirai votre message à mon retour." | crm-intent)
	jq_is .intent.label other "$out"
	# nor is a request made beside an absence
	[ "$(label "Je suis en congés la semaine prochaine, pouvons-nous caler un rendez-vous le 15 ?")" = meeting_request ]
	# someone who left names a successor: a referral, by hand or by machine
	[ "$(label "J'ai quitté le cabinet fin octobre, c'est Thomas Herbin qui a repris ma clientèle.")" = referral ]
	out=$(rec "M. Breton a quitté la société. Merci d'adresser désormais vos messages à Mme Pichard." \
	    "Réponse automatique : Alforis" '{"auto-submitted":"auto-replied"}' | crm-intent)
	jq_is .intent.label referral "$out"
	jq_is .auto auto_reply "$out"
}

@test "loose questions, next steps asked or reported, a time accepted, lost apostrophes" {
	[ "$(label "vous investissez en dette émergente ?")" = information_request ]
	[ "$(label "Do you do EM debt at all?")" = information_request ]
	[ "$(label "Il a fait combien depuis le début de l'année ?")" = information_request ]
	[ "$(label "Do you have time for a call on Friday?")" = meeting_request ]
	[ "$(label "vous proposez quelles conditions aux CGP ?")" = quote_request ]
	[ "$(label "Ça m'intéresse. Quelle est la suite ?")" = interested ]
	[ "$(label "This looks like a decent fit. What would the next steps be from here?")" = interested ]
	[ "$(label "Per our call, the next step on our end was the committee review; I'll let you know how it goes.")" = follow_up ]
	[ "$(label "Ok pour jeudi 10h. Vous venez avec votre gérant ?")" = meeting_request ]
	[ "$(label "c est pas du tout notre univers, bonne continuation")" = not_interested ]
	[ "$(label "We don t need this, thanks.")" = not_interested ]
	[ "$(label "Avant d'aller plus loin, pourriez-vous me donner le niveau de rétrocession sur la part R ?")" = quote_request ]
	[ "$(label "Ok pour moi sur le principe, envoyez-moi la suite quand vous pouvez.")" = interested ]
	[ "$(label "Honestly it's not something our clients ask for, so I'll pass.")" = not_interested ]
	[ "$(label "Vous faites quoi le 12 au midi ? On pourrait déjeuner.")" = meeting_request ]
	# a share class named C is not an elision
	[ "$(label "La part C est-elle de capitalisation ?")" = information_request ]
}

@test "a route through a department, a refusal after a modal, a receipt acknowledged" {
	[ "$(label "Toute nouvelle relation fournisseur passe par notre service achats. Je vous remercie de prendre contact avec M. Perrin.")" = referral ]
	[ "$(label "Any new manager has to go through our procurement team first.")" = referral ]
	[ "$(label "Notre règlement ne nous autorise pas à investir dans ce type de fonds. Nous ne pourrons donc pas donner suite.")" = not_interested ]
	[ "$(label "We've decided to keep things as they are for now.")" = not_interested ]
	[ "$(label "Nous avons lu votre proposition avec intérêt et sommes favorables au principe d'un partenariat.")" = interested ]
	[ "$(label "Let's find some time to connect next week.")" = meeting_request ]
	# a receipt acknowledged by a person names what came, it asks for nothing
	[ "$(label "Nous accusons réception de votre courrier et de la documentation jointe.")" = other ]
	[ "$(label "J'accuse réception de votre mail. Pourriez-vous m'envoyer le DICI de la part I ?")" = information_request ]
	# an interest read in passing is not an interest in the offer
	[ "$(label "I have watched with keen interest for a reply.")" = other ]
	# a visit offered on the sender's ground; a committee to see; calls not wanted
	[ "$(label "Si jamais vous descendez sur Marseille au printemps, prévenez-moi.")" = meeting_request ]
	[ "$(label "If you are in any doubt about the figures, let me know.")" = other ]
	[ "$(label "Pour ce type de dossier, il faut voir avec le comité d'investissement.")" = referral ]
	[ "$(label "I have had five calls from your team this week despite saying I'd get back to you.")" = complaint ]
	[ "$(label "What are we looking at in terms of cost, all in?")" = quote_request ]
}

@test "unsubscribe, quote and information, follow-up, complaint, meeting" {
	[ "$(label "STOP")" = unsubscribe ]
	[ "$(label "Merci de me retirer de votre liste de diffusion.")" = unsubscribe ]
	[ "$(label "Quels sont vos frais de gestion et votre grille tarifaire ?")" = quote_request ]
	[ "$(label "Pourriez-vous m'envoyer la plaquette et le DICI ?")" = information_request ]
	[ "$(label "Je reviens vers vous suite à notre échange de mardi.")" = follow_up ]
	[ "$(label "C'est inadmissible, je suis très mécontent du service.")" = complaint ]
	[ "$(label "Pouvons-nous fixer un rendez-vous jeudi à 14h ?")" = meeting_request ]
	[ "$(label "Bien reçu, merci.")" = other ]
}

@test "a person's subject votes, a reply's subject does not" {
	[ "$(label "Bonjour," "Demande de devis")" = quote_request ]
	[ "$(label "Bonjour," "Re: Demande de devis")" = other ]
}

@test "bounces: a delivery report gives the failed recipient and its status" {
	run sh -c "crm-sync '$FIX/intents/cur/226-bounce:2,S' | crm-intent"
	[ "$status" -eq 0 ]
	jq_is .auto bounce
	jq_is .intent.label other
	jq_is '.auto_detail.recipients | join(",")' p.martin@cabinet-lefort.fr
	jq_is .auto_detail.status 5.1.1
	jq_is .auto_detail.permanent true
	jq_is 'has("entities")' false
}

@test "bounces without a report: qmail and Exim notices from MAILER-DAEMON" {
	run sh -c "crm-sync '$FIX/intents/cur/230-bounce:2,S' '$FIX/intents/cur/229-bounce:2,S' | crm-intent"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e -s 'all(.auto == "bounce")' >/dev/null
	printf '%s\n' "$output" | jq -e -s 'map(.auto_detail.recipients[0]) | sort ==
	    ["contact@old-cabinet-renard.fr", "jl.bonnet@petitcabinet.fr"]' >/dev/null
}

@test "lists, automatic replies; Precedence: bulk counts once absences are ruled out" {
	out=$(rec "Notre lettre du mois." "Lettre" '{"list-unsubscribe":"<mailto:u@x.fr>"}' | crm-intent)
	jq_is .auto mailing_list "$out"
	jq_is .intent.label other "$out"
	out=$(rec "Votre demande a bien été enregistrée. Merci de ne pas répondre." "Ticket 12" \
	    '{"auto-submitted":"auto-generated"}' | crm-intent)
	jq_is .auto auto_reply "$out"
	out=$(rec "On holiday with the family, see you!" "Photos" '{"precedence":"bulk"}' | crm-intent)
	jq_is .auto mailing_list "$out"
	out=$(rec "I am out of the office until Monday 17 November." "Out of office" \
	    '{"precedence":"bulk","x-autoreply":"yes"}' | crm-intent)
	jq_is .auto out_of_office "$out"
	out=$(rec "Hello" "News" '{"x-mc-user":"abc"}' | crm-intent)
	jq_is .auto mailing_list "$out"
}

@test "entities: persons, organisations, locations, dates, phones, e-mails, keywords" {
	out=$(rec "Bonjour,
Je vous propose de rencontrer M. Paul Hubert demain à 15h à Lyon, ou jeudi prochain.
Contact : paul.hubert@roussel-finance.fr, +33 6 12 34 56 78.
Roussel Finance SARL
Sophie Marchand" | crm-intent)
	jq_is '.entities.persons | sort | join(",")' "Paul Hubert,Sophie Marchand" "$out"
	jq_is '.entities.organisations | join(",")' "Roussel Finance SARL" "$out"
	jq_is '.entities.locations | join(",")' "Lyon" "$out"
	jq_is '.entities.dates | map(.value) | join(",")' "2025-11-06T15:00,2025-11-13" "$out"
	jq_is '.entities.phones | join(",")' "+33612345678" "$out"
	jq_is '.entities.emails | join(",")' "paul.hubert@roussel-finance.fr" "$out"
	jq_is '.entities.keywords | index("propose") != null' true "$out"
}

@test "dates: absolute French and English forms, year-less dates near the turn of the year" {
	out=$(rec "Le 25/12/2025, le 3 janvier et November 17th." "x" '{}' 2025-12-20T10:00:00Z | crm-intent)
	jq_is '.entities.dates | map(.value) | join(",")' "2025-12-25,2026-01-03,2025-11-17" "$out"
}

@test "sentiment is negation-aware" {
	pos=$(rec "Excellent, je suis ravi et très satisfait." | crm-intent | jq .intent.sentiment)
	neg=$(rec "Je ne suis pas satisfait, c'est une erreur inacceptable." | crm-intent | jq .intent.sentiment)
	awk -v p="$pos" -v n="$neg" 'BEGIN { exit !(p > 0.3 && n < -0.3) }'
}

@test "body.reply from crm-parse-signature wins over the quoted text" {
	out=$(rec "Bien reçu.

> Pourriez-vous nous fixer un rendez-vous ?" | jq -c '.body = {reply: "Merci de me désinscrire.", quoted: "", forwarded: false}' | crm-intent)
	jq_is .intent.label unsubscribe "$out"
	# without body, quoted history is not read
	[ "$(label "Bien reçu.

Le 3 nov. 2025 à 10:12, Julien Caradec <j.caradec@alforis.fr> a écrit :
> Pourriez-vous nous fixer un rendez-vous ?")" = other ]
}

@test "keys it does not own pass through byte for byte" {
	line='{"v":1,"text":"STOP","zzz":{"b":[1,2.50,"é\u00e9"]},"subject":null}'
	out=$(printf '%s\n' "$line" | crm-intent --no-entities)
	[[ "$out" == '{"v":1,"text":"STOP","zzz":{"b":[1,2.50,"é\u00e9"]},"subject":null,'* ]]
	jq_is .intent.label unsubscribe "$out"
}

@test "--explain names the rules, weights, files and lines" {
	run sh -c "rec() { jq -cn --arg t \"\$1\" '{text: \$t}'; }; rec 'Pas pour le moment, merci.' | crm-intent --explain 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"<stdin>:1: explain"* ]]
	[[ "$output" == *"not_interested"*"+3.00"*"ni.pas-moment"*"intent.rules:"*"pas pour le moment"* ]]
	[[ "$output" == *"intent: not_interested"* ]]
}

@test "a rules file adds, replaces and disables rules without recompiling" {
	cat >"$BATS_TEST_TMPDIR/my.rules" <<'R'
# our own
my.webinaire  meeting_request  4  -  \bwebinaire\b
weight un.stop 0
R
	[ "$(rec "Inscrivez-moi au webinaire." | crm-intent --rules "$BATS_TEST_TMPDIR/my.rules" | jq -r .intent.label)" = meeting_request ]
	[ "$(rec "STOP" | crm-intent --rules "$BATS_TEST_TMPDIR/my.rules" | jq -r .intent.label)" = other ]
	# the same through the configuration file
	printf 'intent.rules = %s\n' "$BATS_TEST_TMPDIR/my.rules" >"$BATS_TEST_TMPDIR/crm.conf"
	[ "$(rec "STOP" | CRM_CONFIG="$BATS_TEST_TMPDIR/crm.conf" crm-intent | jq -r .intent.label)" = other ]
	# a higher threshold makes weak evidence "other"
	[ "$(label "Très intéressant.")" = interested ]
	[ "$(rec "Très intéressant." | crm-intent --threshold 10 | jq -r .intent.label)" = other ]
}

# bad_rules CONTENT MESSAGE: a rules file CONTENT makes crm-intent exit 2
# with MESSAGE in its diagnostics
bad_rules() {
	printf '%b' "$1" >"$BATS_TEST_TMPDIR/bad.rules"
	run crm-intent --rules "$BATS_TEST_TMPDIR/bad.rules" </dev/null
	[ "$status" -eq 2 ] || { echo "status $status for: $1"; return 1; }
	[[ "$output" == *"$2"* ]] || { echo "expected '$2' in: $output"; return 1; }
}

@test "a bad rules file is an error naming the file and line, exit 2" {
	bad_rules '# ok\nx.1 interested 1 - \\bok\\b\nx.2 no_such_label 1 - \\bx\\b\n' \
	    "bad.rules:3: unknown label 'no_such_label'"
	bad_rules 'x.1 interested 1 - (unclosed\n' "bad.rules:1: bad pattern"
	bad_rules 'x.1 interested abc - \\bx\\b\n' "bad.rules:1: weight must be a number"
	bad_rules 'x.1 interested 1 - a?\n' "bad.rules:1: pattern can match the empty string"
	bad_rules 'weight nope 2\n' "bad.rules:1: no rule 'nope' to reweight"
	bad_rules 'x.1 interested 1 neg=maybe \\bx\\b\n' "bad.rules:1: unknown label 'maybe' in flags"
	bad_rules 'x.1 interested 1 each=0 \\bx\\b\n' "bad.rules:1: unknown flag 'each=0'"
	bad_rules 'x.1 interested 1 -\n' "bad.rules:1: expected 'ID LABEL WEIGHT FLAGS PATTERN'"
	run crm-intent --rules "$BATS_TEST_TMPDIR/missing.rules" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"missing.rules"* ]]
	run env CRM_RULES_DIR="$BATS_TEST_TMPDIR/nowhere" crm-intent </dev/null
	[ "$status" -eq 2 ]
}

@test "rules decided from their literal text agree with PCRE2, boundaries included" {
	# CRM_WRULES_CHECK: PCRE2 runs again after every match decided without
	# it and any difference aborts (crm-intent then fails)
	cat >"$BATS_TEST_TMPDIR/l.rules" <<'R'
t.opt    complaint   1  -  \bzorg(?:ette)?s?\b|\bblip[- ]?quux\b
t.star   interested  1  -  \bflor\w*|\bgna\w+\b
t.nob    referral    1  -  wib(?:ble|bly)
R
	text="zorg zorgette_ zorgs; zorgø blip-quux blipquux blip quux blip_quux florø flor_x florian gna gnaé gnax wibblé wibble_ xwibbly"
	run sh -c "rec() { jq -cn --arg t \"\$1\" '{text: \$t}'; }; rec '$text' | CRM_WRULES_CHECK=1 crm-intent --explain --rules '$BATS_TEST_TMPDIR/l.rules' 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *'t.opt'*'"zorg"'* ]]
	[[ "$output" == *'t.star'*'"florian"'* ]] || [[ "$output" == *'t.star'*'"flor_x"'* ]]
	run sh -c "crm-sync --maildir '$FIX/intents' | CRM_WRULES_CHECK=1 crm-intent --max-text 64k >/dev/null"
	[ "$status" -eq 0 ]
}

@test "every shipped body rule opens on literal text, so the trie finds it (CRM_WRULES_CHECK names the others)" {
	# a rule opening on an optional group or a class is scanned over the
	# whole text of every message: one of them cost a fifth of the run
	run sh -c "crm-intent </dev/null 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	run sh -c "CRM_WRULES_CHECK=1 crm-intent </dev/null 2>&1 >/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" != *"opens on no literal"* ]]
	# and the check does name such a rule
	printf 't.opt  complaint  1  -  (?:je )?zorg\\b\n' >"$BATS_TEST_TMPDIR/o.rules"
	run sh -c "CRM_WRULES_CHECK=1 crm-intent --rules '$BATS_TEST_TMPDIR/o.rules' </dev/null 2>&1 >/dev/null"
	[[ "$output" == *"o.rules:1: rule t.opt opens on no literal"* ]]
}

@test "each=N lets a word field count several times" {
	cat >"$BATS_TEST_TMPDIR/f.rules" <<'R'
t.field  complaint  0.5  each=3  \b(?:zorg|blip|quux)\b
R
	out=$(rec "Zorg, blip et quux." | crm-intent --rules "$BATS_TEST_TMPDIR/f.rules" --no-entities)
	jq_is .intent.scores.complaint 1.5 "$out"
	sed -i 's/each=3/-/' "$BATS_TEST_TMPDIR/f.rules"
	out=$(rec "Zorg, blip et quux." | crm-intent --rules "$BATS_TEST_TMPDIR/f.rules" --no-entities)
	jq_is .intent.scores.complaint 0.5 "$out"
}

@test "bad input: malformed lines, non-objects, missing text, invalid UTF-8 are rejected, the rest goes on" {
	{
		rec "STOP"
		printf '{"text": "unterminated\n'
		printf '[1, 2]\n'
		printf '{"subject": "no text"}\n'
		printf '{"text": "caf\xe9"}\n'
		printf '{"text": 42}\n'
		printf '{"text": "ok", "headers": "nope"}\n'
		rec "Merci de me désabonner."
	} >"$BATS_TEST_TMPDIR/in.jsonl"
	run sh -c "crm-intent --rejects '$BATS_TEST_TMPDIR/rej.jsonl' '$BATS_TEST_TMPDIR/in.jsonl' 2>'$BATS_TEST_TMPDIR/err'"
	[ "$status" -eq 1 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	printf '%s\n' "$output" | jq -e -s 'map(.intent.label) == ["unsubscribe", "unsubscribe"]' >/dev/null
	[ "$(wc -l <"$BATS_TEST_TMPDIR/rej.jsonl")" -eq 6 ]
	err=$(cat "$BATS_TEST_TMPDIR/err")
	[[ "$err" == *"in.jsonl:2:"* ]]
	[[ "$err" == *"in.jsonl:3:"* ]]
	[[ "$err" == *"in.jsonl:4: record has no \"text\""* ]]
	[[ "$err" == *"in.jsonl:5:"* ]]
	[[ "$err" == *"in.jsonl:6: record has no \"text\""* ]]
	[[ "$err" == *"in.jsonl:7: \"headers\" is not an object"* ]]
}

@test "huge input: a line over --max-line is rejected; a huge reply is capped, not a crash" {
	big=$(head -c 300000 /dev/zero | tr '\0' 'a')
	printf '{"text": "%s"}\n' "$big" >"$BATS_TEST_TMPDIR/big.jsonl"
	rec "STOP" >>"$BATS_TEST_TMPDIR/big.jsonl"
	run sh -c "crm-intent --max-line 100k '$BATS_TEST_TMPDIR/big.jsonl' 2>/dev/null"
	[ "$status" -eq 1 ]
	jq_is .intent.label unsubscribe
	run sh -c "crm-intent '$BATS_TEST_TMPDIR/big.jsonl' | jq -r .intent.label"
	[ "$status" -eq 0 ]
	[ "$output" = "other
unsubscribe" ]
}

@test "usage errors exit 2; a full standard output exits 3" {
	run crm-intent --threshold abc </dev/null
	[ "$status" -eq 2 ]
	run crm-intent --max-text 0 </dev/null
	[ "$status" -eq 2 ]
	[ -w /dev/full ] || skip "no /dev/full"
	run sh -c "crm-sync --maildir '$FIX/intents' | crm-intent >/dev/full"
	[ "$status" -eq 3 ]
}

@test "the sender's signature block does not vote; a message made of contact lines still does" {
	# titles and firm lines under the sign-off ("Responsable", "Directrice")
	# are not a referral: a confirmation stays a confirmation
	t=$'Parfait, c\'est noté pour jeudi 16 à 14h30. Je réserve une salle.\n\nBonne journée,\nAnne\n\nAnne Bert\nDirectrice des partenariats\nResponsable de la sélection de fonds\nTél : 01 44 55 66 77'
	[ "$(label "$t")" = other ]
	rec "$t" | crm-intent --explain 2>&1 >/dev/null | grep -q 'signature: from byte'
	# the same words above the sign-off count
	t=$'Je ne suis plus responsable de ce dossier : ma collègue, directrice des partenariats, le reprend.\n\nCordialement,\nAnne Bert'
	[ "$(label "$t")" = referral ]
	# no sign-off: a message that is only a new address is read whole
	[ "$(label $'Mon associé s\'occupe des UC, je lui transfère votre mail. Son adresse : p.durand@lenoir-cgp.fr')" = referral ]
}

@test "a refusal or a talk asked in three words; a stand-in named for meanwhile" {
	[ "$(label "Merci, mais je passe. Trop illiquide pour nous.")" = not_interested ]
	[ "$(label "Si je passe à Paris jeudi, on pourrait se voir au bureau ?")" = meeting_request ]
	[ "$(label "Thanks Julien. We would rather not take on a new manager this year.")" = not_interested ]
	[ "$(label "I'd rather not discuss this over email - can you call me tomorrow?")" = meeting_request ]
	[ "$(label "Le sujet m'intrigue. Peut-on en discuter rapidement ?")" = meeting_request ]
	[ "$(label "Je préfère ne pas en parler par mail. Pouvez-vous m'appeler demain ?")" = meeting_request ]
	[ "$(label "Could we talk it through at some point?")" = meeting_request ]
	out=$(jq -cn --arg t "Bonjour Julien, je suis en congés jusqu'au 15 mars. Entre-temps, merci de vous adresser à Paul Durand." \
	    '{v: 1, id: "x", date: "2025-11-05T09:00:00Z", from: {name: "A B", email: "a@b.fr"},
	      to: [{name: "Julien Caradec", email: "j.caradec@alforis.fr"}], subject: "Re: Alforis", headers: {}, text: $t}' | crm-intent)
	jq_is .intent.label out_of_office "$out"
	jq_is .auto none "$out"
}

@test "a refusal for now outweighs a deferral; a closing formula is no meeting; a call behind is a follow-up" {
	[ "$(label "Pas intéressé pour le moment. Revenez vers moi en janvier.")" = not_interested ]
	[ "$(label "Not interested right now, but feel free to get back to me in Q3.")" = not_interested ]
	[ "$(label "Pas le bon timing, recontactez-moi début janvier.")" = follow_up ]
	[ "$(label "Merci pour vos voeux ! Au plaisir de vous croiser prochainement.")" = other ]
	[ "$(label "Je préférerais un premier échange téléphonique. Merci de me proposer deux ou trois créneaux.")" = meeting_request ]
	[ "$(label "Following up on our call yesterday: I've shared your deck with the partners.")" = follow_up ]
	[ "$(label "Comme convenu, je vous adresse les coordonnées de notre dépositaire et le calendrier (remise des dossiers le 15 mars).")" = follow_up ]
}
