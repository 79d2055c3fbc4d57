// sig-peers.js — drive the npm signature/reply libraries for
// tests/bench/30-signature.sh.
//   node sig-peers.js NODE_MODULES PEER speed FILE [MAX]
//       messages/s of the library call alone over the "text" of the
//       records (JSON parsing excluded: the peers' best case): a line
//       "WALL_RATE CPU_RATE N" (wall clock and user CPU time)
//   node sig-peers.js NODE_MODULES PEER stage FILE [MAX]
//       the same as a JSON-lines stage would do it: each line parsed with
//       JSON.parse, the library called, and the result spliced into the
//       line as a new key (the output kept in memory, not written); the
//       measure to hold against crm-parse-signature's own run
//   node sig-peers.js NODE_MODULES PEER found FILE
//       how many records the library finds a signature in (a line
//       "found N of M"); "n/a" for libraries that only strip quotations
'use strict';
const fs = require('fs');
const [nm, peer, mode, file, maxArg] = process.argv.slice(2);
const max = maxArg ? parseInt(maxArg, 10) : Infinity;
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(l => l).slice(0, max);
const recs = mode === 'stage' ? [] : lines.map(l => JSON.parse(l));

function runner() {
	switch (peer) {
	case 'talon': {
		const t = require(nm + '/talon');
		return r => { const x = t.signature.bruteforce.extractSignature(r.text || ''); return !!(x && x.signature); };
	}
	case 'talonjs': {
		const t = require(nm + '/talonjs');
		return r => { t.quotations.extractFromPlain(r.text || ''); return null; };
	}
	case 'planer': {
		const p = require(nm + '/planer');
		return r => { p.extractFrom(r.text || '', 'text/plain'); return null; };
	}
	case 'email-signature-detector': {
		const d = require(nm + '/email-signature-detector');
		return r => {
			const f = r.from || {};
			const x = d.getSignature(r.text || '', { email: f.email || '', displayName: f.name || '' });
			return !!(x && x.found && x.signature);
		};
	}
	case 'email-reply-parser': {
		const m = require(nm + '/email-reply-parser');
		const P = m.default || m;
		return r => new P().read(r.text || '').getFragments().some(f => f.isSignature() && f.getContent().trim());
	}
	}
	throw new Error('unknown peer ' + peer);
}

const run = runner();
if (mode === 'speed') {
	const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
	for (const r of recs)
		run(r);
	const s = Number(process.hrtime.bigint() - t0) / 1e9;
	const c = process.cpuUsage(c0).user / 1e6;
	console.log(Math.round(recs.length / s) + ' ' + Math.round(recs.length / c) + ' ' + recs.length);
} else if (mode === 'stage') {
	let out = 0;
	const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
	for (const l of lines) {
		const x = run(JSON.parse(l));
		out += (l.slice(0, -1) + ',"signature":' + JSON.stringify(x === undefined ? null : x) + '}\n').length;
	}
	const s = Number(process.hrtime.bigint() - t0) / 1e9;
	const c = process.cpuUsage(c0).user / 1e6;
	console.log(Math.round(lines.length / s) + ' ' + Math.round(lines.length / c) + ' ' + lines.length + ' ' + out);
} else {
	let found = 0, na = false;
	for (const r of recs) {
		const x = run(r);
		if (x === null)
			na = true;
		else if (x)
			found++;
	}
	console.log(na ? 'n/a' : 'found ' + found + ' of ' + recs.length);
}
