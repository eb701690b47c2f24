// A third-party SMSC for Columba's interoperability tests, on node smpp (farhadi/node-smpp):
// it accepts a bind from one account, answers submit_sm with a message id, sends a delivery
// receipt (Appendix B text + receipted_message_id/message_state TLVs) when asked, and sends
// multi-part MO on command.
//
//   node smsc_sim.js PORT SYSTEM_ID PASSWORD [LIFETIME_MS]
//
// Events go to standard output as JSON lines ({"event": "listening", "port": N} first);
// commands come as JSON lines on standard input:
//   {"cmd": "mo", "from": "...", "to": "...", "text": "...", "ref": 7, "ref16": false,
//    "reverse": false, "payload": false}
//   {"cmd": "quit"}
// The process exits on "quit", at the end of its input, or after LIFETIME_MS (default 60 s).
'use strict';

const smpp = require('smpp');
const parts = require('./parts');

const [port, systemId, password] = [Number(process.argv[2] || 0), process.argv[3], process.argv[4]];
const lifetime = Number(process.argv[5] || 60000);
const emit = parts.emit;
const sessions = [];
let nextId = 0x5a000000;

function stamp(date) {
	const two = (n) => String(n).padStart(2, '0');
	return two(date.getFullYear() % 100) + two(date.getMonth() + 1) + two(date.getDate()) +
		two(date.getHours()) + two(date.getMinutes());
}

function receipt(session, submit, messageId) {
	const now = stamp(new Date());
	const text = 'id:' + messageId + ' sub:001 dlvrd:001 submit date:' + now +
		' done date:' + now + ' stat:DELIVRD err:000 text:';
	session.deliver_sm({
		source_addr: submit.destination_addr,
		destination_addr: submit.source_addr,
		esm_class: 0x04,
		data_coding: 0x00,
		short_message: Buffer.from(text, 'ascii'),
		receipted_message_id: messageId,
		message_state: 2,
	}, function (response) {
		emit({event: 'dlr_acked', message_id: messageId, command_status: response.command_status});
	});
}

const server = smpp.createServer(function (session) {
	function bind(mode) {
		return function (pdu) {
			const ok = pdu.system_id === systemId && pdu.password === password;
			session.send(pdu.response({
				command_status: ok ? 0 : smpp.ESME_RBINDFAIL,
				system_id: 'NODE-SMSC',
			}));
			emit({event: ok ? 'bound' : 'bind_refused', mode: mode, system_id: pdu.system_id});
			if (ok) {
				sessions.push(session);
			}
		};
	}
	session.on('bind_transceiver', bind('transceiver'));
	session.on('bind_transmitter', bind('transmitter'));
	session.on('bind_receiver', bind('receiver'));
	session.on('enquire_link', function (pdu) {
		session.send(pdu.response());
		emit({event: 'enquire_link'});
	});
	session.on('unbind', function (pdu) {
		session.send(pdu.response());
		emit({event: 'unbind'});
		session.close();
	});
	session.on('submit_sm', function (pdu) {
		const messageId = (nextId++).toString(16);
		const body = parts.decoded(pdu.short_message);
		emit({
			event: 'submit_sm',
			message_id: messageId,
			source_addr: pdu.source_addr,
			destination_addr: pdu.destination_addr,
			esm_class: pdu.esm_class,
			data_coding: pdu.data_coding,
			registered_delivery: pdu.registered_delivery,
			udh: body.udh,
			message: body.message,
		});
		session.send(pdu.response({message_id: messageId}));
		if (pdu.registered_delivery & 0x01) {
			receipt(session, pdu, messageId);
		}
	});
	session.on('close', function () {
		const index = sessions.indexOf(session);
		if (index >= 0) {
			sessions.splice(index, 1);
		}
	});
	session.on('error', function (error) {
		emit({event: 'session_error', message: String(error)});
	});
});

function sendMo(command) {
	const session = sessions[sessions.length - 1];
	if (!session) {
		emit({event: 'error', message: 'no bound session for MO'});
		return;
	}
	const base = {source_addr: command.from, destination_addr: command.to, data_coding: 0x08};
	let pdus;
	if (command.payload) {
		pdus = [Object.assign({message_payload: parts.ucs2(command.text)}, base)];
	} else {
		pdus = parts.split(command.text, command.ref || 1, !!command.ref16).map(function (part) {
			return Object.assign({
				esm_class: part.udh ? 0x40 : 0x00,
				short_message: part.udh ? Buffer.concat([part.udh, part.body]) : part.body,
			}, base);
		});
	}
	if (command.reverse) {
		pdus.reverse();
	}
	pdus.forEach(function (options, index) {
		session.deliver_sm(options, function (response) {
			emit({event: 'mo_acked', index: index, command_status: response.command_status});
		});
	});
	emit({event: 'mo_sent', parts: pdus.length});
}

parts.commands(function (command) {
	if (command.cmd === 'mo') {
		sendMo(command);
	} else if (command.cmd === 'quit') {
		process.exit(0);
	}
});

server.listen(port, '127.0.0.1', function () {
	emit({event: 'listening', port: server.address().port});
});
setTimeout(function () {
	emit({event: 'lifetime_over'});
	process.exit(0);
}, lifetime).unref();
