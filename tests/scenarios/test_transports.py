"""Every transport reaches the same core: SIP-C over WebSocket, SIP over TLS, SIP over TCP."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from columba.client import SipcClient, SipClient
from tests.scenarios.harness import Server

pytestmark = pytest.mark.slow


def test_sipc_over_websocket_chats_with_sip_over_tcp(server: Server) -> None:
    async def dialog() -> None:
        a = server.add_user("Alice", "+8613800000101")
        b = server.add_user("Bob", "+8613800000102")
        alice = await SipcClient.connect_websocket(
            server.addresses["http"].replace("http", "ws") + "/sip"
        )
        await alice.login(a.sid, a.password)
        bob = await SipClient.connect(*server.hostport("sip-tcp"), transport="tcp")
        await bob.register(b.sid, b.password)
        await alice.send_message(b.sid, "over a websocket")
        assert (await bob.next_message()).text == "over a websocket"
        await bob.send_message(a.sid, "over tcp")
        assert (await alice.next_message()).text == "over tcp"
        await alice.close()
        await bob.close()

    asyncio.run(dialog())


def test_websocket_without_the_sip_subprotocol_is_refused(server: Server) -> None:
    import aiohttp

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            url = server.addresses["http"].replace("http", "ws") + "/sip"
            async with session.ws_connect(url) as ws:
                message = await ws.receive(timeout=5)
                assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)

    asyncio.run(probe())


@pytest.fixture
def tls_server(tmp_path: Path, backend: str) -> Server:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    data = tmp_path / "data"
    data.mkdir()
    srv = Server(
        data_dir=data,
        storage_url=backend,
        extra_config=f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n',
        tls_listener=True,
    )
    srv.start()
    srv.cert = cert  # type: ignore[attr-defined]
    return srv


def test_sip_over_tls_registers_and_chats(tls_server: Server) -> None:
    server = tls_server
    try:

        async def dialog() -> None:
            a = server.add_user("Alice", "+8613800000111")
            b = server.add_user("Bob", "+8613800000112")
            context = ssl.create_default_context(cafile=str(server.cert))  # type: ignore[attr-defined]
            alice = await SipClient.connect(
                *server.hostport("sip-tls"), transport="tls", tls=context
            )
            await alice.register(a.sid, a.password)
            bob = await SipcClient.connect(*server.hostport("sipc-tcp"))
            await bob.login(b.sid, b.password)
            await alice.send_message(b.sid, "encrypted")
            assert (await bob.next_message()).text == "encrypted"
            await alice.close()
            await bob.close()

        asyncio.run(dialog())
    finally:
        server.stop()
