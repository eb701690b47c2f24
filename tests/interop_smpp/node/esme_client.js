// A third-party ESME for Columba's interoperability tests, on node smpp: it binds as a
// transceiver to Columba's SMSC simulator, submits long texts split by its own code (UDH),
// and reports every deliver_sm (MO and receipts) as node smpp decoded it.
//
//   node esme_client.js HOST PORT SYSTEM_ID PASSWORD [LIFETIME_MS]
//
// Events go to standard output as JSON lines ({"event": "bound"} after the bind); commands
// come as JSON lines on standard input:
//   {"cmd": "submit", "from": "...", "to": "...", "text": "...", "ref": 9}
//   {"cmd": "unbind"}
'use strict';

const smpp = require('smpp');
const parts = require('./parts');

const [host, port, systemId, password] = process.argv.slice(2, 6);
const lifetime = Number(process.argv[6] || 60000);
const emit = parts.emit;

const session = smpp.connect({url: 'smpp://' + host + ':' + port});
session.on('connect', function () {
	session.bind_transceiver({system_id: systemId, password: password}, function (pdu) {
		emit({event: pdu.command_status === 0 ? 'bound' : 'bind_refused',
			command_status: pdu.command_status, system_id: pdu.system_id});
	});
});
session.on('enquire_link', function (pdu) {
	session.send(pdu.response());
});
session.on('unbind', function (pdu) {
	session.send(pdu.response());
	session.close();
});
session.on('deliver_sm', function (pdu) {
	const body = parts.decoded(pdu.short_message);
	emit({
		event: 'deliver_sm',
		source_addr: pdu.source_addr,
		destination_addr: pdu.destination_addr,
		esm_class: pdu.esm_class,
		data_coding: pdu.data_coding,
		udh: body.udh,
		message: body.message,
		receipted_message_id: pdu.receipted_message_id || null,
		message_state: pdu.message_state === undefined ? null : pdu.message_state,
	});
	session.send(pdu.response());
});
session.on('error', function (error) {
	emit({event: 'error', message: String(error)});
});
session.on('close', function () {
	emit({event: 'closed'});
	process.exit(0);
});

parts.commands(function (command) {
	if (command.cmd === 'submit') {
		const pieces = parts.split(command.text, command.ref || 1, false);
		pieces.forEach(function (part, index) {
			session.submit_sm({
				source_addr: command.from,
				destination_addr: command.to,
				data_coding: 0x08,
				esm_class: part.udh ? 0x40 : 0x00,
				registered_delivery: 1,
				short_message: part.udh ? Buffer.concat([part.udh, part.body]) : part.body,
			}, function (response) {
				emit({event: 'submit_resp', index: index, command_status: response.command_status,
					message_id: response.message_id || null});
			});
		});
	} else if (command.cmd === 'unbind') {
		session.unbind(function () {
			emit({event: 'unbound'});
			session.close();
		});
	}
});
setTimeout(function () {
	emit({event: 'lifetime_over'});
	process.exit(0);
}, lifetime).unref();
