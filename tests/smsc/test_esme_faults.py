"""Our ESME against a scripted SMSC that misbehaves: it goes silent (the link is declared dead
and the ESME binds again), and it delivers half of a long MO (it expires as partial)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from columba.sms.esme import open_esme
from columba.sms.framing import PduFramer
from columba.sms.pdu import BindTransceiver, BindTransceiverResp, DeliverSm, encode_pdu
from columba.sms.reassembly import Expired, ReassemblyLimits
from columba.sms.segment import split_message
from columba.sms.session import SessionConfig
from columba.sms.userdata import with_part
from tests.smsc.helpers import esme_config, eventually, run

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def accept_bind(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the bind_transceiver and accept it, without any session logic."""
    framer = PduFramer()
    while True:
        pdus = framer.feed(await reader.read(4096))
        if pdus:
            (bind,) = pdus
            assert isinstance(bind, BindTransceiver)
            writer.write(encode_pdu(BindTransceiverResp(sequence_number=bind.sequence_number)))
            return


async def scripted_smsc(script: Script) -> tuple[asyncio.Server, tuple[str, int], list[int]]:
    """A listener running ``script`` per connection; the list counts connections."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await script(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[:2], connections


def test_silent_smsc_is_declared_dead_and_the_esme_binds_again() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_bind(reader, writer)
        while await reader.read(4096):  # swallow everything, answer nothing
            pass

    async def dialog() -> None:
        server, address, connections = await scripted_smsc(silent)
        session = SessionConfig(
            enquire_link_interval=0.1, enquire_link_timeout=0.1, response_timeout=0.5
        )
        async with server, open_esme(esme_config(address, session=session)) as esme:
            await esme.wait_bound(within=5)
            await eventually(lambda: esme.binds >= 2)
            assert len(connections) >= 2
            assert esme.binds >= 2

    run(dialog())


def test_half_a_long_mo_expires_as_partial() -> None:
    text = "第一部分" * 16 + "第二部分" * 16  # 128 characters: two parts

    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_bind(reader, writer)
        first, _ = split_message(text, reference=5)
        template = DeliverSm(
            sequence_number=7, source_addr="8613700000000", destination_addr="12520"
        )
        writer.write(encode_pdu(with_part(template, first)))
        while await reader.read(4096):
            pass

    async def dialog() -> None:
        server, address, _ = await scripted_smsc(half)
        config = esme_config(
            address,
            reassembly=ReassemblyLimits(timeout=0.2),
            session=SessionConfig(response_timeout=0.5),
        )
        async with server, open_esme(config) as esme:
            async for message in esme.messages():
                assert isinstance(message, Expired)
                assert (message.received, message.missing) == ((1,), (2,))
                assert message.partial_text is not None
                assert message.partial_text.startswith("第一部分")
                assert message.partial_text.endswith("\ufffd")
                break

    run(dialog())
