"""The simulator's line-based control channel, and ``columba phone`` driving it from another
process."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from columba.cli_phone import control_address, render
from columba.sms.esme import open_esme
from columba.smsc import SmscSimulator
from columba.smsc.control import ControlClient, ControlError
from tests.smsc.helpers import esme_config, run

PHONE = "8613912345678"


def test_commands_over_the_control_channel() -> None:
    async def dialog() -> None:
        async with (
            SmscSimulator().serving(control_port=0) as smsc,
            open_esme(esme_config(smsc.address)) as esme,
        ):
            assert smsc.control_address is not None
            async with ControlClient.connect(*smsc.control_address, wait=5) as control:
                assert await control.command("PING") == ["OK PONG"]
                await esme.wait_bound(within=5)
                assert await control.command("BINDS") == ["BIND columba transceiver", "OK 1"]
                assert await control.command(f"WATCH {PHONE}") == [f"OK WATCH {PHONE}"]
                # MT: the watcher sees it land.
                await esme.submit(PHONE, "Hello from Columba\nsecond line")
                event = await control.next_event()
                assert event is not None
                kind, _, body = event.partition(" ")
                assert kind == "SMS"
                fields = json.loads(body)
                assert fields["text"] == "Hello from Columba\nsecond line"
                assert fields["from"] == "12520"
                inbox = await control.command(f"INBOX {PHONE}")
                assert inbox[-1] == "OK 1"
                assert inbox[0].startswith("INBOX ")
                # MO: SEND with a JSON string, then DELIVERED once the ESME acked it.
                answer = await control.command(f'SEND {PHONE} 12520 "reply \\u263a\\nok"')
                ok, mo_id, parts = answer[-1].split(" ")
                assert (ok, parts) == ("OK", "1")
                async for message in esme.messages():
                    assert message.text == "reply ☺\nok"  # type: ignore[union-attr]
                    break
                assert await control.next_event() == f"DELIVERED {mo_id}"
                # Errors.
                with pytest.raises(ControlError, match="unknown command"):
                    await control.command("FLY me")
                with pytest.raises(ControlError, match="usage"):
                    await control.command("SEND onlyone")
                assert await control.command(f"REACH {PHONE} off") == [f"OK REACH {PHONE} off"]
                assert not smsc.handset(PHONE).is_reachable
                assert await control.command("QUIT") == ["OK BYE"]

    run(dialog())


def test_control_address_defaults_to_the_next_port() -> None:
    assert control_address("127.0.0.1:2775", None) == ("127.0.0.1", 2776)
    assert control_address("127.0.0.1:2775", "127.0.0.1:9000") == ("127.0.0.1", 9000)
    with pytest.raises(ValueError, match="bad address"):
        control_address("nowhere", None)


def test_render() -> None:
    line = "SMS " + json.dumps({"from": "12520", "text": "你好", "parts": 3, "at": 0})
    assert render(line) is not None
    assert render(line).endswith("12520: 你好 (3 parts)")  # type: ignore[union-attr]
    assert render("DELIVERED x1") == "  sent x1: the SMS server has it"
    assert render("OK 1") is None


def test_phone_cli_shows_mt_and_sends_typed_lines() -> None:
    async def dialog() -> None:
        async with (
            SmscSimulator().serving(control_port=0) as smsc,
            open_esme(esme_config(smsc.address)) as esme,
        ):
            assert smsc.control_address is not None
            host, port = smsc.control_address
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            phone = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "columba",
                "phone",
                PHONE,
                "--control",
                f"{host}:{port}",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
            assert phone.stdin is not None
            assert phone.stdout is not None
            try:
                banner = await phone.stdout.readline()
                assert f"phone {PHONE}".encode() in banner
                await esme.submit(PHONE, "验证码 123456 😀")
                shown = await phone.stdout.readline()
                assert "12520: 验证码 123456 😀" in shown.decode()
                phone.stdin.write(b"/to 125201001\n")
                phone.stdin.write("好的，收到 👍\n".encode())
                await phone.stdin.drain()
                async for message in esme.messages():
                    assert message.text == "好的，收到 👍"  # type: ignore[union-attr]
                    assert message.source == PHONE
                    assert message.destination == "125201001"
                    break
                phone.stdin.write(b"/quit\n")
                await phone.stdin.drain()
                output = (await phone.stdout.read()).decode()
                assert "-> 125201001" in output
                assert await phone.wait() == 0
            finally:
                if phone.returncode is None:
                    phone.kill()
                    await phone.wait()

    run(dialog())


def test_phone_cli_without_a_simulator_fails() -> None:
    async def dialog() -> None:
        # A port with nothing listening: bind one, then close it.
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        phone = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "columba",
            "phone",
            PHONE,
            "--control",
            f"127.0.0.1:{port}",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await phone.communicate()
        finally:
            if phone.returncode is None:
                phone.kill()
                await phone.wait()
        assert phone.returncode == 1
        assert b"cannot reach" in output

    run(dialog())
