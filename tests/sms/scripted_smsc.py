"""An SMSC for tests that sends delivery receipts only when told, and never again.

Like node smpp's server (and many real SMSCs), it does not resend a receipt the ESME refused;
unlike the simulator, it leaves the timing of each receipt to the test. Built on the same
SMPP session and link as Columba's ESME, in the SMSC role.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

from columba.sms.esme import SmppLink
from columba.sms.pdu import DeliverSm, SubmitSm, Tlv, TlvTag
from columba.sms.receipt import ESM_TYPE_DELIVERY_RECEIPT, DeliveryReceipt, MessageState
from columba.sms.receipt import format_receipt as receipt_text
from columba.sms.session import (
    BindRequested,
    Event,
    MessageReceived,
    Role,
    SessionConfig,
    SmppSession,
)


class ScriptedSmsc:
    """Accepts any bind and every submit_sm (ids ``id1``, ``id2`` …); receipts on demand."""

    def __init__(self) -> None:
        self.port = 0
        #: (message id, submit_sm) of every submit, in order.
        self.submits: list[tuple[str, SubmitSm]] = []
        self._link: SmppLink | None = None
        self._changed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ScriptedSmsc]:
        """Listen on a loopback port (``self.port``) for the ``async with`` body."""
        async with asyncio.TaskGroup() as tasks:

            def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                tasks.create_task(self._serve(reader, writer))

            server = await asyncio.start_server(accept, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            try:
                yield self
            finally:
                server.close()
                if self._link is not None:
                    self._link.close()

    async def wait_submits(self, count: int) -> list[tuple[str, SubmitSm]]:
        """Wait until ``count`` submit_sm came (bound the wait with asyncio.timeout)."""
        while len(self.submits) < count:
            self._changed.clear()
            await self._changed.wait()
        return self.submits[:count]

    async def receipt(self, message_id: str, state: MessageState = MessageState.DELIVERED) -> int:
        """Send the receipt of ``message_id`` once; the command_status the ESME answered."""
        assert self._link is not None
        now = datetime.now()
        text = receipt_text(
            DeliveryReceipt(
                message_id=message_id,
                state=state,
                submitted=1,
                delivered=1 if state is MessageState.DELIVERED else 0,
                submit_date=now,
                done_date=now,
                error="000",
            )
        )
        pdu = DeliverSm(
            sequence_number=0,
            source_addr="8613800000002",
            destination_addr="12520",
            esm_class=ESM_TYPE_DELIVERY_RECEIPT,
            short_message=text.encode("ascii"),
            tlvs=(
                Tlv.from_cstring(TlvTag.RECEIPTED_MESSAGE_ID, message_id),
                Tlv.from_int(TlvTag.MESSAGE_STATE, state, 1),
            ),
        )
        response = await self._link.send(pdu)
        return response.command_status

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        session = SmppSession(Role.SMSC, SessionConfig(response_timeout=10.0), now=loop.time())
        link = SmppLink(session, reader, writer, self._on_event)
        await link.run()

    def _on_event(self, link: SmppLink, event: Event) -> None:
        if isinstance(event, BindRequested):
            link.accept_bind(event, system_id="scripted")
            self._link = link
        elif isinstance(event, MessageReceived) and isinstance(event.pdu, SubmitSm):
            message_id = f"id{len(self.submits) + 1}"
            self.submits.append((message_id, event.pdu))
            link.ack(event, message_id=message_id)
            self._changed.set()
