"""The last step of every SIP-C login (password or SSI session): bind the device, answer 200.

Whatever proved who the device is, the login ``<args>`` name the device and its first
presence, the 200 carries the registration lifetime (``X``) and the login results, and the
device is bound only after that answer is queued, so its first notifications follow it.
"""

from __future__ import annotations

import time

from columba.core.registry import Binding, Dialect
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.message import Request
from columba.protocol.sipc.bodies import parse_xml
from columba.servers.im import views
from columba.servers.im.server import ImServer
from columba.storage import Account


async def logged_in(
    server: ImServer,
    request: Request,
    link: Link,
    account: Account,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    ssi_session: str | None = None,
) -> None:
    """Answers a successful SIP-C login and binds the device.

    Args:
        headers: Extra headers of the 200 (``A: Digest rspauth=…`` after SCRAM).
        ssi_session: The SSI session the device logged in with, if it did.
    """
    device_id, presence = login_body(request)
    expires = server.config.register_expires
    mono = time.monotonic()
    binding = Binding(
        user_id=account.user_id,
        sid=account.sid,
        device_id=device_id,
        link=link,
        dialect=Dialect.SIPC,
        contact=account.sid,
        expires_at=mono + expires,
        registered_at=mono,
        presence=presence,
        ssi_session=ssi_session,
    )
    results = await views.login_results(server, account)
    server.reply(link, request, 200, headers=[("X", str(expires)), *headers], body=results.encode())
    await server.bind(binding, account)


def login_body(request: Request) -> tuple[str, int]:
    """The device id (``machine-code``) and initial presence from the login ``<args>``."""
    device_id, presence = "default", 400
    if not request.body:
        return device_id, presence
    try:
        args = parse_xml(request.body)
    except ParseError:
        return device_id, presence
    device = args.find("device")
    if device is not None and device.get("machine-code"):
        device_id = device.get("machine-code", device_id)[:64]
    basic = args.find("presence/basic")
    if basic is not None:
        try:
            presence = int(basic.get("value", "400"))
        except ValueError:
            presence = 400
    return device_id, presence
