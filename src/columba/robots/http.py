"""The robot server's HTTP API (aiohttp routes on the node's ``http`` listener).

Operator endpoints (``Authorization: Bearer <[admin] token>``):

- ``GET /api/robots``; ``POST /api/robots`` registers one and shows its token and signing
  secret once.
- ``GET /api/groups``; ``GET|POST /api/groups/{id}/robots``;
  ``DELETE /api/groups/{id}/robots/{name}``.

Robot endpoints (``Authorization: Bearer <robot token>``):

- ``POST /robot/v1/messages`` with ``Idempotency-Key``: ``{"chat": "g12", "text": …}`` (or
  ``"group_id": 12``, or ``"user": "<sid>"``); the same key again returns the first result.
- ``GET /robot/v1/updates?offset=<n>&timeout=<s>``: long polling; events up to ``offset`` are
  acknowledged, newer ones returned (``event_seq`` is the next offset).
- ``GET /robot/v1/ws``: the robot's WebSocket (``columba.robots.sockets``).

Errors are JSON ``{"error": …}``; 429 carries ``Retry-After``.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from columba.groups.rules import ReadScope, group_uri
from columba.robots import envelope
from columba.robots.server import RobotError, RobotServer
from columba.storage import Account, NotFound
from columba.storage.group_records import Robot

if TYPE_CHECKING:
    from columba.servers.node import Node

MAX_POLL = 60.0


def _node(request: web.Request) -> Node:
    from columba.servers.web import NODE

    node = request.app[NODE]
    return node  # type: ignore[return-value]


def _robots(request: web.Request) -> RobotServer:
    server: RobotServer | None = getattr(_node(request), "robots", None)
    if server is None:
        raise web.HTTPServiceUnavailable(
            text='{"error": "robots are off on this node"}', content_type="application/json"
        )
    return server


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _is_admin(request: web.Request) -> bool:
    token = _node(request).config.admin.token
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


def _robot_json(robot: Robot, server: RobotServer, account: Account | None) -> dict[str, Any]:
    domain = server.im.config.domain
    return {
        "robot_id": robot.robot_id,
        "name": robot.name,
        "sid": account.sid if account else None,
        "uri": f"sip:{account.sid}@{domain}" if account else None,
        "transport": robot.transport,
        "webhook_url": robot.webhook_url,
        "description": robot.description,
        "builtin": robot.is_builtin,
    }


async def list_or_register(request: web.Request) -> web.Response:
    """``GET /api/robots`` lists robots; ``POST`` registers one."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    server = _robots(request)
    if request.method == "GET":
        robots = [
            _robot_json(r, server, await server.im.account(r.robot_id)) for r in server.robots()
        ]
        return web.json_response({"robots": robots})
    body = await _json(request)
    owner = None
    if body.get("owner"):
        owner = await server.im.account_for(str(body["owner"]))
        if owner is None:
            return _error(404, "no such owner")
    try:
        made = await server.register(
            name=str(body.get("name", "")),
            owner=owner,
            transport=str(body.get("transport", "webhook")),
            webhook_url=str(body.get("webhook_url", "")),
            description=str(body.get("description", "")),
        )
    except RobotError as exc:
        return _error(exc.status, str(exc))
    document = _robot_json(made.robot, server, made.account)
    document.update(token=made.token, signing_secret=made.signing_secret)
    return web.json_response(document, status=201)


async def list_groups(request: web.Request) -> web.Response:
    """``GET /api/groups``: groups with their member and robot counts."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    server = _robots(request)
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        return _error(400, "after must be an integer")
    groups = []
    for group in await server.store.list_groups(after=after, limit=100):
        robots = await server.store.group_robots(group.group_id)
        groups.append(
            {
                "group_id": group.group_id,
                "uri": group_uri(group.group_id, server.im.config.domain),
                "name": group.name,
                "members": group.member_count,
                "limit": group.member_limit,
                "robots": [r.robot.name for r in robots],
            }
        )
    return web.json_response({"groups": groups})


async def group_robots(request: web.Request) -> web.Response:
    """``GET`` a group's robots with their read scopes; ``POST`` adds one."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    server = _robots(request)
    try:
        group = await server.store.group(int(request.match_info["group_id"]))
    except (NotFound, ValueError):
        return _error(404, "no such group")
    if request.method == "POST":
        body = await _json(request)
        robot = await server.by_name(str(body.get("robot", "")))
        if robot is None:
            return _error(404, "no such robot")
        try:
            scope = ReadScope(str(body.get("read_scope", ReadScope.MENTIONS.value)))
        except ValueError:
            return _error(400, "read_scope must be mentions or all")
        owner = await server.im.account(group.owner_id)
        await server.groups.add_robot(group.group_id, robot.robot_id, scope, added_by=owner)
        return web.json_response({"robot": robot.name, "read_scope": scope.value}, status=201)
    slots = await server.store.group_robots(group.group_id)
    return web.json_response(
        {"robots": [{"name": s.robot.name, "read_scope": s.read_scope} for s in slots]}
    )


async def remove_group_robot(request: web.Request) -> web.Response:
    """``DELETE /api/groups/{id}/robots/{name}``."""
    if not _is_admin(request):
        return _error(403, "admin API disabled or bad token")
    server = _robots(request)
    robot = await server.by_name(request.match_info["name"])
    try:
        group_id = int(request.match_info["group_id"])
    except ValueError:
        return _error(404, "no such group")
    if robot is None or not await server.store.remove_robot(group_id, robot.robot_id):
        return _error(404, "no such robot in that group")
    return web.json_response({"removed": robot.name})


async def post_message(request: web.Request) -> web.Response:
    """``POST /robot/v1/messages``: the robot says something, idempotently."""
    server = _robots(request)
    try:
        robot = await server.authenticate(request.headers.get("Authorization", ""))
        body = await _json(request)
        if "group_id" in body:
            chat = f"g{int(body['group_id'])}"
        elif "user" in body:
            chat = f"u{body['user']}"
        else:
            chat = str(body.get("chat", ""))
        text = body.get("text")
        if not isinstance(text, str):
            raise RobotError(400, "text must be a string")
        key = request.headers.get("Idempotency-Key", "")
        hop = 1
        in_reply_to = body.get("in_reply_to")
        if isinstance(in_reply_to, str):
            hop = await _hop_after(server, robot, in_reply_to)
        stored = await server.post_as(robot, chat=chat, text=text, key=key, hop=hop)
    except RobotError as exc:
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(exc.retry_after + 0.5)))
        return _error(exc.status, str(exc), **headers)
    except (TypeError, ValueError):
        return _error(400, "group_id must be a number")
    return web.json_response(
        {"message_id": stored.message_id, "seq": stored.seq, "duplicate": stored.is_duplicate}
    )


async def _hop_after(server: RobotServer, robot: Robot, event_id: str) -> int:
    try:
        event = await server.store.event(event_id)
    except NotFound:
        return 1
    if event.robot_id != robot.robot_id:
        return 1
    message = json.loads(event.payload).get("message") or {}
    return int(message.get("hop", 0)) + 1


async def updates(request: web.Request) -> web.Response:
    """``GET /robot/v1/updates``: long polling for robots with ``transport=poll``."""
    server = _robots(request)
    try:
        robot = await server.authenticate(request.headers.get("Authorization", ""))
        offset = int(request.query.get("offset", "0"))
        wait = min(max(float(request.query.get("timeout", "25")), 0.0), MAX_POLL)
    except RobotError as exc:
        return _error(exc.status, str(exc))
    except ValueError:
        return _error(400, "offset and timeout must be numbers")
    if offset > 0:
        await server.store.ack_events(robot.robot_id, offset)
    deadline = time.monotonic() + wait
    while True:
        events = await server.store.pending_events(robot.robot_id, after=offset, limit=100)
        remaining = deadline - time.monotonic()
        if events or remaining <= 0:
            break
        await server.wait_events(robot.robot_id, remaining)
    now = int(time.time())
    out = []
    for event in events:
        document = json.loads(
            envelope.attempt_body(
                event.payload, event_id=event.event_id, attempt=event.attempts + 1, ts=now
            )
        )
        document["event_seq"] = event.event_seq
        out.append(document)
    return web.json_response({"events": out})


async def socket(request: web.Request) -> web.StreamResponse:
    """``GET /robot/v1/ws``: a robot registered with ``transport=websocket`` connects."""
    from columba.robots.sockets import robot_socket

    server = _robots(request)
    try:
        robot = await server.authenticate(request.headers.get("Authorization", ""))
    except RobotError as exc:
        return _error(exc.status, str(exc))
    if robot.transport != "websocket":
        return _error(409, "this robot is not registered with transport=websocket")
    return await robot_socket(request, server, robot)


def add_routes(app: web.Application) -> None:
    """Add the robot server's routes to the node's application."""
    app.router.add_route("*", "/api/robots", list_or_register)
    app.router.add_get("/api/groups", list_groups)
    app.router.add_route("*", "/api/groups/{group_id}/robots", group_robots)
    app.router.add_delete("/api/groups/{group_id}/robots/{name}", remove_group_robot)
    app.router.add_post("/robot/v1/messages", post_message)
    app.router.add_get("/robot/v1/updates", updates)
    app.router.add_get("/robot/v1/ws", socket)
