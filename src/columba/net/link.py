"""A link: one connection (or one UDP peer) that messages are sent on and answered over.

The base class implements ``DeviceLink`` for every transport: ``send`` serializes and writes;
``request`` writes a request and waits for the response matched by (Call-ID, CSeq, method).
Over UDP, requests are retransmitted on RFC 3261 Timer E (``transaction.ClientTransaction``)
until answered or Timer F fires. Each link owns a task group for the tasks that live as long
as it does (device outboxes), so closing the link cancels them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from columba.protocol.errors import ParseError
from columba.protocol.sip.message import Message, Request, Response
from columba.protocol.sip.serializer import ensure_content_length, serialize
from columba.protocol.sip.transaction import (
    ClientTransaction,
    Deliver,
    TimedOut,
    Transmit,
    TransportFailed,
)

log = logging.getLogger(__name__)

Key = tuple[str, int, str]
Answer = Callable[[Response | None], None]

#: Set by a connection's reader around the handler of one request: calling it lets the reader
#: go on to the next request before this handler finishes (see :func:`release_reader`).
_release: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "columba_release_reader", default=None
)


def release_reader() -> None:
    """Let the connection read its next request while the current handler goes on.

    For a handler whose order-sensitive part is done (a message has its place in the commit
    queue) and which only waits now (for the commit, then to answer). Outside a handler, or
    on a transport that handles requests one at a time, this does nothing.
    """
    release = _release.get()
    if release is not None:
        _release.set(None)
        release()


def _key(message: Message) -> Key | None:
    # The message's own typed accessors: parsed once and cached on the message.
    try:
        call_id, cseq = message.call_id, message.cseq
    except ParseError:
        return None
    if call_id is None or cseq is None:
        return None
    return (call_id, cseq.seq, cseq.method)


class Link:
    """Base of every transport's connection object."""

    transport = "tcp"
    is_reliable = True

    def __init__(self, *, local_host: str, peer: str) -> None:
        self.local_host = local_host
        self.peer = peer
        self._pending: dict[Key, asyncio.Future[Response]] = {}
        self._answers: dict[Key, Answer] = {}
        self._closed = False
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Server-side state attached by the IM server (bindings on this link).
        self.bindings: list[Any] = []
        self.requests_this_second = 0
        self.second = 0.0

    @property
    def is_open(self) -> bool:
        """False once closed or lost."""
        return not self._closed

    # -- writing -------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def send(self, message: Message) -> None:
        """Serialize and write a message (a response, or a request that needs no answer)."""
        if self._closed:
            return
        self._write(serialize(ensure_content_length(message) if self.is_reliable else message))

    def send_bytes(self, data: bytes) -> None:
        """Write a message already serialized (on a stream: with its length header)."""
        if not self._closed:
            self._write(data)

    async def request(self, request: Request, *, within: float) -> Response | None:
        """Send a request and wait for its final response (None on timeout or lost link).

        The request is written before this coroutine first yields, so requests started in
        order go out in order.
        """
        key = _key(request)
        if key is None or self._closed:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        self._pending[key] = future
        try:
            if self.is_reliable:
                self.send(request)
                return await asyncio.wait_for(future, within)
            return await self._request_unreliable(request, future, within)
        except (TimeoutError, ConnectionError):
            return None
        finally:
            self._pending.pop(key, None)

    def send_request(self, request: Request, on_answer: Answer) -> Key | None:
        """Write a request; ``on_answer`` gets its final response, or None if the link is lost.

        For reliable links only (no retransmission): no task, future or timer per request;
        the caller keeps its own deadline and calls :meth:`forget` when it gives up. Returns
        the key to forget, or None (and writes nothing) when the link is closed.
        """
        key = _key(request)
        if key is None or self._closed:
            return None
        self._answers[key] = on_answer
        self.send(request)
        return key

    def send_prepared(self, data: bytes, key: Key, on_answer: Answer) -> Key | None:
        """:meth:`send_request` for a request already serialized, with its matching key."""
        if self._closed:
            return None
        self._answers[key] = on_answer
        self._write(data)
        return key

    def forget(self, key: object) -> None:
        """Stop waiting for the answer to a request sent with :meth:`send_request`."""
        if isinstance(key, tuple):
            self._answers.pop(key, None)

    async def _request_unreliable(
        self, request: Request, future: asyncio.Future[Response], within: float
    ) -> Response | None:
        loop = asyncio.get_running_loop()
        transaction: ClientTransaction[Request, Response] = ClientTransaction(
            request, reliable=False, now=loop.time()
        )
        actions = transaction.start(loop.time())
        deadline = loop.time() + within
        while True:
            for action in actions:
                if isinstance(action, Transmit):
                    self.send(action.message)
                elif isinstance(action, Deliver) and action.status >= 200:
                    return action.response
                elif isinstance(action, TimedOut | TransportFailed):
                    return None
            timer = transaction.get_timer()
            wait = min(timer if timer is not None else deadline, deadline) - loop.time()
            if wait <= 0 and loop.time() >= deadline:
                return None
            try:
                response = await asyncio.wait_for(asyncio.shield(future), max(wait, 0))
            except TimeoutError:
                actions = transaction.handle_timer(loop.time())
                continue
            actions = transaction.receive_response(response.status, response, loop.time())

    def on_response(self, response: Response) -> bool:
        """Route a response to the request waiting for it; False if nobody waits."""
        key = _key(response)
        if key is None:
            return False
        if self._answers:
            answer = self._answers.get(key)
            if answer is not None:
                if response.status >= 200:
                    del self._answers[key]
                    answer(response)
                return True
        future = self._pending.get(key)
        if future is None or future.done():
            return False
        if response.status >= 200:
            future.set_result(response)
        return True

    # -- lifetime ------------------------------------------------------------------------------

    def start_task(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a task owned by this link (cancelled when the link closes)."""
        if self._group is None or self._closed:
            coro.close()
            return
        task = self._group.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Close the link; waiting requests get None."""
        if self._closed:
            return
        self._closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("link closed"))
        answers, self._answers = self._answers, {}
        for answer in answers.values():
            answer(None)
        for task in list(self._tasks):
            task.cancel()
        self._close_transport()

    def _close_transport(self) -> None:
        pass
