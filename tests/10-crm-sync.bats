#!/usr/bin/env bats
# crm-sync over local sources: Maildir (Maildir++), mbox, files, stdin.

load helper

MD="$BATS_TEST_DIRNAME/fixtures/sync/Maildir"
MBOX="$BATS_TEST_DIRNAME/fixtures/sync/mail.mbox"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# record for a fixture file name (glob under cur/)
rec() {
	crm-sync "$MD"/cur/*"$1"* 2>/dev/null
}

sha() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

@test "maildir: every good message becomes one record, bad files are rejects, exit 1" {
	run --separate-stderr crm-sync --maildir "$MD" --rejects rej.jsonl
	[ "$status" -eq 1 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 16 ]
	all_json
	printf '%s\n' "$output" | jq -e -s 'all(.source.kind == "maildir" and .source.folder == "INBOX")' >/dev/null
	[ "$(wc -l <rej.jsonl)" -eq 2 ]
	jq -e -s 'map(.source.path | test("empty|binary")) | all' rej.jsonl
	[[ "$stderr" == *"1700000016.empty.host:2,S: empty message"* ]]
	[[ "$stderr" == *"binary data, not a mail message"* ]]
}

@test "records have exactly the keys of crm-record(5), in order" {
	run rec enc
	jq_is 'keys_unsorted | join(",")' \
	    "v,id,account,source,message_id,in_reply_to,references,date,from,to,cc,reply_to,subject,headers,text,attachments,size"
	jq_is '.v' 1
	jq_is '.source.kind' file
}

@test "output is strictly valid UTF-8 whatever the input charset" {
	crm-sync --maildir "$MD" 2>/dev/null >all.jsonl || true
	python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8", "strict")' <all.jsonl
}

@test "--recursive reads Maildir++ subfolders, named without the dot" {
	run --separate-stderr crm-sync --maildir "$MD" -r
	[ "$status" -eq 1 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 17 ]
	printf '%s\n' "$output" | jq -e -s 'map(select(.source.folder == "Clients")) | length == 1'
}

@test "RFC 2047 words in ISO-8859-1, -15, Windows-1252 and UTF-8 are decoded" {
	run rec enc
	jq_is '.subject' "Offre € 100 — résumé"
	jq_is '.from.name' "François Müller"
	jq_is '.from.email' "francois.muller@example.fr"
	jq_is '.to[0].name' "Éloïse Dupont"
	jq_is '.cc[0].name' "Renée “La Patronne”"
}

@test "id is sha256(account NUL Message-ID); --account changes both" {
	run rec enc
	jq_is '.id' "$(printf 'local\0enc-1@example.fr' | sha256sum | cut -d' ' -f1)"
	jq_is '.message_id' "enc-1@example.fr"
	run crm-sync --account sales@alforis.fr "$MD"/cur/*enc*
	jq_is '.account' "sales@alforis.fr"
	jq_is '.id' "$(printf 'sales@alforis.fr\0enc-1@example.fr' | sha256sum | cut -d' ' -f1)"
}

@test "without Message-ID the id hashes the raw bytes, and the date falls back to Received" {
	f=$(ls "$MD"/cur/*noid*)
	run crm-sync "$f"
	jq_is '.message_id' null
	jq_is '.id' "$( { printf 'local\0'; cat "$f"; } | sha256sum | cut -d' ' -f1)"
	jq_is '.date' "2025-11-02T07:30:00Z"
	jq_is '.to | length' 0
}

@test "wrong and unknown charsets give valid text with U+FFFD, never a failure" {
	run rec badcs
	jq_is '.subject' "Café crème"
	jq_is '.text' "Un caf� cr�me, s'il vous pla�t. ��"
	run rec unkcs
	jq_is '.text' "Naïve text in an unknown charset."
	jq_is '.subject' "Café"
}

@test "undeclared 8-bit headers are read as Windows-1252 when not UTF-8" {
	run rec 8bit
	jq_is '.subject' "Déjà vu"
	jq_is '.from.name' "René Lefèvre"
	jq_is '.date' "2025-11-04T08:00:00Z"
}

@test "quoted-printable soft line breaks are joined" {
	run rec qp
	jq_is '.text | test("frais de gestion du fonds. Madame")' true
	jq_is '.in_reply_to' "orig-1@alforis.fr"
	jq_is '.references | join(" ")' "orig-1@alforis.fr"
}

@test "HTML-only base64 mail becomes readable text" {
	run rec html
	jq_is '.text | test("alert|color:red|<p>|comment")' false
	jq_is '.text | split("\n")[0]' "Bonjour Madame,"
	jq_is '.text | test("retour — voici la plaquette & le DICI")' true
	jq_is '.text | test("Marc Durand\nDirecteur commercial\n")' true
	jq_is '.text | test("<https://www.linkedin.com/in/marc-durand-123/>")' true
	jq_is '.text | test("\n> Le 30 oct. 2025, Eloise a écrit :")' true
	jq_is '.text | test("m.envoyer la plaquette")' true
	jq_is '.html' null
	run crm-sync --html "$MD"/cur/*html*
	jq_is '.html | test("<blockquote>")' true
}

@test "an image's alt text is written as Gmail writes it, [image: ...]; spacers and file names are not" {
	mkdir -p m/cur m/new m/tmp
	printf 'From: a@b.fr\nSubject: x\nContent-Type: text/html\n\n%s\n' \
	    '<p>Bonjour<img src="x.png" alt="Logo Groupe Moreau &amp; Cie">merci</p><img alt="" src=a><img alt="image001.png"><img alt="cid:x@y"><p><a href="https://www.linkedin.com/in/x"><img alt=" LinkedIn "></a></p>' >m/cur/1:2,S
	run crm-sync --maildir m
	[ "$status" -eq 0 ]
	jq_is .text $'Bonjour [image: Logo Groupe Moreau & Cie] merci\n\n[image: LinkedIn] <https://www.linkedin.com/in/x>'
}

@test "multipart/alternative prefers text/plain; CRLF is gone; dates go to UTC" {
	run rec crlf
	jq_is '.text' "Seriez-vous disponible jeudi à 10h ?"
	jq_is '.date' "2025-11-04T14:15:00Z"
	jq_is '.from.name' "Dupont, Jean"
	jq_is '.attachments[0].content_type' "image/png"
}

@test "forwarded message/rfc822 and RFC 2231 file names are listed as attachments" {
	run rec fwd
	jq_is '.text' "See the message below."
	jq_is '.attachments[0].content_type' "message/rfc822"
	jq_is '.attachments[0].filename' "Demande de rendez-vous"
	jq_is '.attachments[1].filename' "présentation v2.pdf"
	jq_is '.attachments[1].content_type' "application/pdf"
	jq_is '.attachments[1].size' 48
}

@test "a truncated multipart message keeps what it has" {
	run rec trunc
	[ "$status" -eq 0 ]
	jq_is '.text' "The text part survives."
}

@test "duplicate Message-IDs: both messages come out with the same id" {
	run crm-sync "$MD"/cur/*dup*
	[ "$(printf '%s\n' "$output" | jq -s 'map(.id) | unique | length')" -eq 1 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
}

@test "delivery status reports keep the status part and the report type" {
	run rec dsn
	jq_is '.headers["content-type"]' "multipart/report; report-type=delivery-status"
	jq_is '.headers["auto-submitted"]' "auto-replied"
	jq_is '.delivery_status | test("Status: 5.1.1")' true
	jq_is '.from.email' "mailer-daemon@mx.alforis.fr"
}

@test "format=flowed lines are joined; list headers are kept" {
	run rec flowed
	jq_is '.text | split("\n")[0]' "This paragraph was wrapped by the sender's client and must come back as one line after decoding."
	jq_is '.text | split("\n")[1]' "> quoted flowed text that continues on the next line."
	jq_is '.text | test("\n-- \nSignature line$")' true
	jq_is '.headers["list-id"]' "Lettre mensuelle <lettre.lists.example.org>"
	jq_is '.headers.precedence' "bulk"
}

@test "mbox: messages split at From_ lines, >From unescaped, envelope date as fallback" {
	run crm-sync --mbox "$MBOX"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	first=$(printf '%s\n' "$output" | sed -n 1p)
	jq_is '.text' "Line one.
From the archives: an escaped line.
>From two levels.
A line that mentions From somewhere." "$first"
	second=$(printf '%s\n' "$output" | sed -n 2p)
	jq_is '.date' "2025-11-03T10:00:00Z" "$second"
	jq_is '.text | test("From here on")' true "$second"
	jq_is '.source.offset' 289 "$second"
	third=$(printf '%s\n' "$output" | sed -n 3p)
	jq_is '.text' "Last message, no final newline." "$third"
}

@test "mbox on stdin" {
	run sh -c "crm-sync --mbox - <'$MBOX' | wc -l"
	[ "$output" -eq 3 ]
}

@test "one raw message on stdin" {
	run sh -c "printf 'From: x@y.fr\nSubject: stdin\n\nhi\n' | crm-sync"
	[ "$status" -eq 0 ]
	jq_is '.source.kind' stdin
	jq_is '.subject' stdin
}

@test "a file argument that cannot be read is a reject naming it; the others still come out" {
	run --separate-stderr crm-sync "$MD"/cur/*enc* nonexistent.eml "$MD"/cur/*qp*
	[ "$status" -eq 1 ]
	[ "$(printf '%s\n' "$output" | grep -c '"v":1')" -eq 2 ]
	[[ "$stderr" == *"nonexistent.eml: cannot open: No such file or directory"* ]]
}

@test "a missing Maildir is a usage error (2) with the path named" {
	run crm-sync --maildir /nonexistent/Maildir
	[ "$status" -eq 2 ]
	[[ "$output" == *"/nonexistent/Maildir"* ]]
	mkdir notmd
	run crm-sync --maildir notmd
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a Maildir"* ]]
}

@test "a 20 MB attachment is listed with its size; --max-size makes it a reject" {
	python3 - <<'PY'
import base64, os
data = os.urandom(20 * 1024 * 1024)
with open("big.eml", "wb") as f:
    f.write(b"From: big@example.fr\nSubject: big\nMessage-ID: <big@x>\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nsee attached\n"
            b"--B\nContent-Type: application/octet-stream; name=big.bin\nContent-Transfer-Encoding: base64\n\n")
    f.write(base64.encodebytes(data))
    f.write(b"--B--\n")
PY
	run crm-sync big.eml
	[ "$status" -eq 0 ]
	jq_is '.attachments[0].size' 20971520
	jq_is '.attachments[0].filename' big.bin
	jq_is '.text' "see attached"
	run --separate-stderr crm-sync --max-size 1M --rejects rej.jsonl big.eml
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"big.eml: message larger than --max-size"* ]]
	jq -e '.source.path == "big.eml"' rej.jsonl
}

@test "bad option values are usage errors" {
	run crm-sync --max-size lots
	[ "$status" -eq 2 ]
	run crm-sync --maildir "$MD" --mbox "$MBOX"
	[ "$status" -eq 2 ]
}

@test "memory does not grow with the number of messages (streaming)" {
	case $CRM_BUILD in *asan*) skip "ASan's quarantine holds freed memory" ;; esac
	mkdir -p many/cur many/new
	for i in $(seq 1 3000); do
		printf 'From: a%d@x.fr\nSubject: m %d\nMessage-ID: <m%d@x>\n\n%0500d\n' $i $i $i 0 >many/cur/$i
	done
	small=$( { /usr/bin/time -f %M crm-sync --maildir many/ >/dev/null; } 2>&1 | tail -n 1)
	for i in $(seq 3001 30000); do ln -s "$PWD/many/cur/1" many/cur/$i; done
	big=$( { /usr/bin/time -f %M crm-sync --maildir many/ >/dev/null; } 2>&1 | tail -n 1)
	echo "peak RSS: 3000 msgs ${small} KB, 30000 msgs ${big} KB"
	[ "$big" -lt $((small + 2048)) ]
}

@test "inputs that once crashed the fuzzers are read safely (valid UTF-8 out, status 0 or 1)" {
	for f in "$CRM_TOP"/tests/fuzz/regress/*; do
		run --separate-stderr crm-sync "$f"
		[ "$status" -le 1 ] || { echo "$f: status $status: $stderr"; return 1; }
		printf '%s' "$output" | python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8", "strict")'
	done
}

@test "--progress in a pipe ends with a count line on stderr; silent without it" {
	run --separate-stderr crm-sync --progress --maildir "$MD"
	[[ "$stderr" == *"crm-sync: 16 messages in "* ]]
	run --separate-stderr sh -c "crm-sync --maildir '$MD' 2>&1 >/dev/null | grep -c 'messages in'"
	[ "$output" = 0 ]
}

@test "Gnus' 'In-Reply-To: user@host's message of \"date\"' names no Message-ID" {
	printf 'From: a@b.fr\nSubject: x\nMessage-ID: <m1@x>\nIn-Reply-To: joe@example.com'"'"'s message of "Mon, 1 Jan 2002 10:00:00 +0000"\nReferences: <r1@x> <r2@x>\n\nhi\n' >gnus.eml
	run crm-sync gnus.eml
	jq_is '.in_reply_to' null
	jq_is '.references | join(" ")' "r1@x r2@x"
	printf 'From: a@b.fr\nSubject: x\nMessage-ID: bare-id@x\nIn-Reply-To: parent@x\n\nhi\n' >bare.eml
	run crm-sync bare.eml
	jq_is '.message_id' bare-id@x
	jq_is '.in_reply_to' parent@x
}

# Headers that try the field-by-field reader (lib/mime.c, read_header()):
# what it must read exactly as libetpan reads the whole header.
tricky_headers() {
	mkdir -p tricky/cur tricky/new
	cd tricky/cur
	# an encoded word that does not close on its line runs into the body
	printf 'From: a@b.fr\nTo: c@d.fr\nCc: =?windows-1252?Q?Ren=Eding: base64\n\nPGh0bWw+\nx=94?= <renee@example.be>\nSubject: s\n\nbody\n' >1
	# a quoted pair that takes the line end into the From field
	printf 'From: "a\\\nb" <a@b.fr>\nX-Mailer: m\nSubject: s\n\nbody\n' >2
	# continuation lines of white space only
	printf 'From: a@b.fr\nX-Mailer: m\n \n\t\nSubject: s\nList-Id: <l.x>\n \n\nbody\n' >3
	# "To(comment):" is a To field; a name too long to keep; 8-bit in a name
	printf 'From: a@b.fr\nTo(c): e@f.fr\nX-Mc-%070d: v\nX-\351t\351: v\nSubject: s\n\nbody\n' 0 >4
	# nothing but MIME fields: no header fields
	printf 'Content-Type: text/plain\nMIME-Version: 1.0\n\nbody\n' >5
	# a forwarded message as the whole body; two Content-Types; mime-version
	printf 'From: a@b.fr\nContent-Type: message/rfc822\n\nFrom: c@d.fr\nSubject: inner\n\nhi\n' >6
	printf 'From: a@b.fr\nContent-Type: text/html\nContent-Type: text/plain\nmime-version: 1.0\n\n<p>x</p>\n' >7
	# no Date: the topmost Received; the same fields again (the cache)
	printf 'Received: from a by b; Mon, 3 Nov 2025 08:00:00 +0000\nReceived: from c by d; Sun, 2 Nov 2025 08:00:00 +0000\nFrom: "Ann" <a@b.fr>\nTo: x@y.fr, "Bob" <b@y.fr>\nList-Id: <l.x>\nSubject: s\n\nbody\n' >8
	printf 'From: "Ann" <a@b.fr>\nTo: x@y.fr, "Bob" <b@y.fr>\nList-Id: <l.x>\nDate: Tue, 4 Nov 2025 10:00:00 +0100\nSubject: t\n\nbody\n' >9
	printf 'From: "Ann" <a@b.fr>\nTo: x@y.fr, "Bob" <b@y.fr>\nFrom: z@z.fr\nSubject: u\n\nbody\n' >10
	# a header that ends the file; CRLF lines; a field without a colon
	printf 'From: a@b.fr\nSubject: end' >11
	printf 'From: a@b.fr\r\nTo: c@d.fr\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nd\351j\340\r\n' >12
	printf 'From: a@b.fr\nnot a field\nSubject: s\n\nbody\n' >13
	cd ../..
}

@test "the header read field by field gives the records of the whole-header parse, byte for byte" {
	tricky_headers
	for src in "--maildir tricky" "--maildir $MD -r" "--mbox $MBOX" "--html --maildir $FIX/sample/Maildir -r"; do
		crm-sync $src >fast.jsonl 2>fast.err || true
		CRM_SYNC_WHOLE_HEADER=1 crm-sync $src >whole.jsonl 2>whole.err || true
		cmp fast.jsonl whole.jsonl
		cmp fast.err whole.err
	done
	for f in "$CRM_TOP"/tests/fuzz/regress/*; do
		crm-sync "$f" >fast.jsonl 2>/dev/null || true
		CRM_SYNC_WHOLE_HEADER=1 crm-sync "$f" >whole.jsonl 2>/dev/null || true
		cmp fast.jsonl whole.jsonl
	done
}

@test "no Date: the topmost Received gives the date; a forwarded message as the body is listed with the message's size" {
	tricky_headers
	run crm-sync tricky/cur/8
	jq_is '.date' "2025-11-03T08:00:00Z"
	jq_is '[.to[].email] | join(" ")' "x@y.fr b@y.fr"
	jq_is '.headers["list-id"]' "<l.x>"
	run crm-sync tricky/cur/6
	jq_is '.attachments[0].content_type' "message/rfc822"
	jq_is '.attachments[0].size' "$(wc -c <tricky/cur/6)"
	run --separate-stderr crm-sync tricky/cur/5
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no header fields"* ]]
}
