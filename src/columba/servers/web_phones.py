"""``/api/phones``: the built-in SMSC simulator's virtual phones over HTTP JSON.

For the browser client and for trying Columba without a real phone: list the phones, read a
phone's inbox (the SMS Columba sent it), text from a phone (an MO through the simulator and
SMPP into the SMS server, as an operator's SMSC would deliver it), and make a phone
unreachable. Available only while the node runs the simulator (404 otherwise); there is no
authentication because the phones are fake (turn the simulator off in production with
``[listen] smsc = "off"``). The contract is ``docs/sms.md`` § "Virtual phones".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from columba.sms.errors import SmsUsageError
from columba.sms.routing import RouteError, access_address, digits

if TYPE_CHECKING:
    from columba.servers.node import Node
    from columba.smsc.simulator import SmscSimulator

#: Longest text a phone may send through the API (characters).
MAX_TEXT = 1000


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _node(request: web.Request) -> Node:
    from columba.servers.web import NODE

    node: Node = request.app[NODE]  # type: ignore[assignment]
    return node


def _simulator(request: web.Request) -> SmscSimulator | None:
    return _node(request).smsc


def _number(request: web.Request) -> str | None:
    try:
        number = digits(request.match_info["number"])
    except RouteError:
        return None
    return number if 3 <= len(number) <= 20 else None


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def list_phones(request: web.Request) -> web.Response:
    """``GET /api/phones``."""
    smsc = _simulator(request)
    if smsc is None:
        return _error(404, "no SMSC simulator on this node")
    phones = [
        {"number": h.number, "messages": len(h.inbox), "reachable": h.is_reachable}
        for h in smsc.handsets
    ]
    code = _node(request).config.sms.access_code
    return web.json_response({"access_code": code, "phones": phones})


async def phone_messages(request: web.Request) -> web.Response:
    """``GET /api/phones/{number}/messages?after=<index>``; ``POST`` texts from the phone."""
    smsc = _simulator(request)
    if smsc is None:
        return _error(404, "no SMSC simulator on this node")
    number = _number(request)
    if number is None:
        return _error(400, "the number must be 3 to 20 digits")
    if request.method == "POST":
        return await _send(request, smsc, number)
    try:
        after = max(0, int(request.query.get("after", "0")))
    except ValueError:
        return _error(400, "after must be an integer")
    inbox = smsc.handset(number).inbox
    messages = [
        {"index": index, **message.as_json()}
        for index, message in enumerate(inbox)
        if index >= after
    ]
    return web.json_response({"number": number, "messages": messages})


async def _send(request: web.Request, smsc: SmscSimulator, number: str) -> web.Response:
    body = await _body(request)
    if body is None:
        return _error(400, "body must be a JSON object")
    text = body.get("text")
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
        return _error(400, f"text must be 1 to {MAX_TEXT} characters")
    node = _node(request)
    to = body.get("to")
    to_user = body.get("to_user")
    try:
        if isinstance(to_user, str) and to_user:
            account = await node.im.account_for(to_user)
            if account is None or not account.number:
                return _error(404, "no such user, or the user has no number")
            destination = access_address(node.config.sms.access_code, account.number)
        elif isinstance(to, str) and to:
            destination = digits(to)
        else:
            return _error(400, "give to (a number) or to_user (a sid or number)")
        smsc.handset(number)  # the phone appears in the list from now on
        outgoing = smsc.send_from_handset(number, destination, text)
    except (RouteError, SmsUsageError) as exc:
        return _error(400, str(exc))
    return web.json_response(
        {"mo_id": outgoing.mo_id, "to": destination, "parts": outgoing.parts}, status=202
    )


async def phone_reachable(request: web.Request) -> web.Response:
    """``POST /api/phones/{number}/reachable`` with ``{"reachable": bool}``."""
    smsc = _simulator(request)
    if smsc is None:
        return _error(404, "no SMSC simulator on this node")
    number = _number(request)
    body = await _body(request)
    if number is None or body is None or not isinstance(body.get("reachable"), bool):
        return _error(400, 'expected {"reachable": true|false} for a 3 to 20 digit number')
    handset = smsc.handset(number)
    handset.is_reachable = bool(body["reachable"])
    return web.json_response({"number": number, "reachable": handset.is_reachable})


def add_routes(app: web.Application) -> None:
    """Add the ``/api/phones`` routes."""
    app.router.add_get("/api/phones", list_phones)
    app.router.add_route("*", "/api/phones/{number}/messages", phone_messages)
    app.router.add_post("/api/phones/{number}/reachable", phone_reachable)
