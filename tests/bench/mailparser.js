// mailparser.js DIR: the usual way a Node user turns mail into JSON —
// simpleParser over every file of a Maildir (cur/ and new/), one JSON line
// per message on stdout.  Peer of crm-sync in tests/bench/10-sync.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const { simpleParser } = require('mailparser');

async function main() {
	const dir = process.argv[2];
	const files = [];
	for (const sub of ['cur', 'new']) {
		const d = path.join(dir, sub);
		if (fs.existsSync(d))
			for (const f of fs.readdirSync(d)) files.push(path.join(d, f));
	}
	const out = [];
	for (const f of files) {
		try {
			const m = await simpleParser(fs.readFileSync(f));
			out.push(JSON.stringify({
				message_id: m.messageId, in_reply_to: m.inReplyTo, references: m.references,
				date: m.date, from: m.from && m.from.value, to: m.to && m.to.value,
				subject: m.subject, text: m.text,
				attachments: (m.attachments || []).map(a => ({ filename: a.filename, content_type: a.contentType, size: a.size })),
			}));
		} catch (e) {
			process.stderr.write(f + ': ' + e.message + '\n');
		}
		if (out.length >= 256) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
	}
	if (out.length) process.stdout.write(out.join('\n') + '\n');
}
main();
