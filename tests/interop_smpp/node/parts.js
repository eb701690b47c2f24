// Long-message splitting written independently of Columba's Python code, the way many SMPP
// peers do it: UTF-16BE cut every 134 octets (67 units) with no care for surrogate pairs, and
// a concatenation UDH (IEI 0x00 with an 8-bit reference, or 0x08 with a 16-bit one).
'use strict';

function ucs2(text) {
	const le = Buffer.from(text, 'utf16le');
	const be = Buffer.alloc(le.length);
	for (let i = 0; i < le.length; i += 2) {
		be[i] = le[i + 1];
		be[i + 1] = le[i];
	}
	return be;
}

// -> [{udh: Buffer|null, body: Buffer}], in order
function split(text, ref, ref16) {
	const octets = ucs2(text);
	if (octets.length <= 140) {
		return [{udh: null, body: octets}];
	}
	const size = ref16 ? 132 : 134;
	const chunks = [];
	for (let i = 0; i < octets.length; i += size) {
		chunks.push(octets.slice(i, i + size));
	}
	return chunks.map(function (body, index) {
		const udh = ref16
			? Buffer.from([0x06, 0x08, 0x04, (ref >> 8) & 0xff, ref & 0xff, chunks.length, index + 1])
			: Buffer.from([0x05, 0x00, 0x03, ref & 0xff, chunks.length, index + 1]);
		return {udh: udh, body: body};
	});
}

function hex(buffer) {
	return Buffer.isBuffer(buffer) ? buffer.toString('hex') : null;
}

// What node smpp decoded from short_message: {udh: [Buffer], message: string} or a Buffer.
function decoded(value) {
	if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
		return {
			udh: value.udh ? Buffer.concat(value.udh).toString('hex') : null,
			message: Buffer.isBuffer(value.message) ? value.message.toString('hex') : value.message,
		};
	}
	return {udh: null, message: hex(value)};
}

function emit(record) {
	process.stdout.write(JSON.stringify(record) + '\n');
}

// Calls handle(command) for each JSON line on standard input; exits when the input ends.
function commands(handle) {
	let pending = '';
	process.stdin.setEncoding('utf8');
	process.stdin.on('data', function (chunk) {
		pending += chunk;
		let newline;
		while ((newline = pending.indexOf('\n')) >= 0) {
			const line = pending.slice(0, newline).trim();
			pending = pending.slice(newline + 1);
			if (line) {
				handle(JSON.parse(line));
			}
		}
	});
	process.stdin.on('end', function () {
		process.exit(0);
	});
}

module.exports = {ucs2: ucs2, split: split, hex: hex, decoded: decoded, emit: emit, commands: commands};
