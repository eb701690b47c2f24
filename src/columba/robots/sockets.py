"""Robots on a WebSocket (``GET /robot/v1/ws``), for robots with no public URL.

Like Slack's Socket Mode (sso-bots.md B.5 item 3c): the robot connects out with its bearer
token; the robot server pushes each event as a text frame ``{"ts", "signature", "body"}``
(the same signed bytes a webhook would get) and the robot answers
``{"ack": "<event id>", "status": 200}``, optionally with ``"reply": {"text": …}``. While the
socket is up, the deliverer hands the robot's events to it (``RobotServer.internal``); an
event not acknowledged within ``[robots] timeout`` is retried like a failed webhook, and
while no socket is connected the events wait in the outbox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import WSMsgType, web

from columba.robots import envelope
from columba.robots.server import RobotServer
from columba.storage.group_records import Robot


class RobotSocket:
    """One robot's connection: events out, acknowledgements in."""

    def __init__(self, ws: web.WebSocketResponse, timeout: float) -> None:
        self.ws = ws
        self.timeout = timeout
        self.waiting: dict[str, asyncio.Future[tuple[int, Any]]] = {}

    async def deliver(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        """Send one event and wait for its acknowledgement (503 when none comes)."""
        event_id = headers.get(envelope.EVENT_ID_HEADER, "")
        future: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[event_id] = future
        frame = {
            "ts": headers.get(envelope.TIMESTAMP_HEADER, ""),
            "signature": headers.get(envelope.SIGNATURE_HEADER, ""),
            "body": body.decode(),
        }
        try:
            await self.ws.send_str(json.dumps(frame))
            return await asyncio.wait_for(future, self.timeout)
        except (TimeoutError, ConnectionError):
            return 503, None
        finally:
            self.waiting.pop(event_id, None)

    def acknowledged(self, data: str) -> None:
        """A frame from the robot: resolve the event it acknowledges."""
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        future = self.waiting.get(str(message.get("ack", "")))
        if future is not None and not future.done():
            status = message.get("status", 200)
            future.set_result((status if isinstance(status, int) else 200, message))


async def robot_socket(
    request: web.Request, server: RobotServer, robot: Robot
) -> web.StreamResponse:
    """Serve one robot's WebSocket until it closes."""
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    socket = RobotSocket(ws, server.config.timeout)
    previous = server.internal.get(robot.robot_id)
    server.internal[robot.robot_id] = socket.deliver
    server.wake()
    try:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                socket.acknowledged(frame.data)
    finally:
        if server.internal.get(robot.robot_id) == socket.deliver:
            if previous is None:
                del server.internal[robot.robot_id]
            else:
                server.internal[robot.robot_id] = previous
        for future in socket.waiting.values():
            if not future.done():
                future.set_result((503, None))
    return ws
