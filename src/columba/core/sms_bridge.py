"""IM ⇄ SMS interworking: the rules of DESIGN.md's P1, between the IM server, the UDS and
the SMS server.

- **MO** (:meth:`SmsBridge.on_mo`): a phone texts ``<access code><number>``. STOP/START
  keywords are consumed. A phone that belongs to an account speaks as that account (the IM is
  stored in their conversation, so a reply from the phone threads back); any other phone
  speaks as ``tel:+<digits>``. A receiver logged in (on any node) gets an IM; a receiver
  offline who accepts SMS gets an MT from ``<access code><sender's number>``. A text the SMSC
  delivers again within ``[sms] mo_dedupe_window`` is recognised (:mod:`columba.storage.sms_mo`)
  and not delivered twice.
- **IM → SMS** (:meth:`SmsBridge.offer_offline`): a stored IM to a user with no device online
  who accepts SMS also goes as SMS; the sender is told (SIP-C ``280 Send SMS OK``).
- **SendCatSMS / SendDirectCatSMS** (:meth:`SmsBridge.send_sms`): explicit SMS.
- **Receipts** (:meth:`SmsBridge.on_final`): the sender's devices are told "SMS delivered"
  (SIP-C ``BN`` ``N: MessageStatus``; SIP ``MESSAGE`` with an RFC 5438 IMDN body) and the
  message's delivery status moves to ``sms_delivered`` (or ``failed``).

Every SMS is written to the durable outbox before anything is sent; enqueues from many
concurrent requests are group-committed (:meth:`SmsBridge.run_committer`), so the SMS leg
costs one transaction per batch, not per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from columba.core import outbound
from columba.core.batchqueue import BatchQueue
from columba.core.delivery import DeliveryService
from columba.core.phone_text import DEVICE_WAIT, PhoneRelay, offer_from_phone
from columba.core.registry import Binding, Dialect, Registry
from columba.core.uds import UserDataService, keyword, quiet_until
from columba.protocol.sip.message import Request
from columba.slots import builder
from columba.sms.reassembly import Completed
from columba.sms.routing import access_address, addressed_number, digits
from columba.sms.segment import count_parts
from columba.storage import Account, NotFound, Store
from columba.storage.sms import QUOTA_DAY, NewSms, OutboxSms

log = logging.getLogger(__name__)

#: Appended to an IM cut to fit the SMS leg's segment limit.
TRUNCATION_MARKER = "…"

Notify = Callable[[Binding, Request], Awaitable[None]]
#: Told the outcome of a queued SMS (id, segments sent today, this month), or the error.
Queued = Callable[[tuple[int, int, int] | None, BaseException | None], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeConfig:
    """``[sms]`` as the bridge needs it."""

    domain: str = "columba.local"
    access_code: str = "12520"
    max_segments: int = 3
    day_limit: int = 600
    month_limit: int = 10000
    mo_dedupe_window: float = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsQueued:
    """An SMS in the outbox, as its sender is told.

    Attributes:
        sms_id: The outbox id.
        destination: The phone (digits).
        segments: SMS it takes.
        is_truncated: The text was cut to the segment limit.
        day_count: Segments the sender sent today, this SMS included.
        month_count: … and this month.
    """

    sms_id: int
    destination: str
    segments: int
    is_truncated: bool
    day_count: int = 0
    month_count: int = 0


class SmsRefused(Exception):
    """An SMS that will not be sent; ``status`` is the SIP(-C) status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def mo_key(message: Completed) -> str:
    """What identifies an MO text from one SMSC route: a digest of its source, destination,
    concatenation reference and part count, coding and octets (SMPP 3.4 gives an MO no
    identity of its own, so a text the SMSC delivers again has the same key; so has the same
    text sent again by the phone, a single SMS having no reference)."""
    digest = hashlib.sha256()
    for value in (message.source, message.destination, message.reference, message.total):
        digest.update(f"{value}\x1f".encode())
    digest.update(f"{message.data_coding}\x1f".encode())
    digest.update(message.data)
    return digest.hexdigest()[:32]


def fit(text: str, max_segments: int) -> tuple[str, bool]:
    """``text`` cut (with :data:`TRUNCATION_MARKER`) to at most ``max_segments`` SMS."""
    if segments_of(text) <= max_segments:
        return text, False
    low, high = 0, len(text)  # the longest prefix that fits with the marker
    while low < high:
        middle = (low + high + 1) // 2
        if count_parts(text[:middle] + TRUNCATION_MARKER) <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low] + TRUNCATION_MARKER, True


_astral = re.compile("[\U00010000-\U0010ffff]").search


def segments_of(text: str) -> int:
    """SMS ``text`` takes; a short text is one without splitting it (the common case)."""
    # 70 characters, none astral, fit one part in UCS-2 and in GSM 7-bit (even all escapes).
    if len(text) <= 70 and (text.isascii() or _astral(text) is None):
        return 1
    return count_parts(text)


class SmsBridge:
    """The interworking rules; the SMS server calls :meth:`on_mo` and :meth:`on_final`."""

    def __init__(
        self,
        *,
        store: Store,
        uds: UserDataService,
        registry: Registry,
        delivery: DeliveryService,
        notify: Notify,
        route_for: Callable[[str], str | None],
        wake: Callable[[str], None],
        config: BridgeConfig,
        account: Callable[[int], Awaitable[Account]] | None = None,
    ) -> None:
        self._store = store
        #: An account by id (``NotFound`` if none): the IM server's cached read in a node.
        self._account = account or store.account
        self.uds = uds
        self._registry = registry
        self._delivery = delivery
        self._notify = notify
        self._route_for = route_for
        self._wake = wake
        self.config = config
        self._queue: BatchQueue[tuple[NewSms, Queued]] = BatchQueue()
        self._committing = False
        #: Other nodes' devices (scaled out), for texts from phones with no account.
        self.elsewhere: PhoneRelay | None = None

    # -- queueing ------------------------------------------------------------------------------

    async def queue(self, item: NewSms) -> tuple[int, int, int]:
        """Write an SMS to the outbox (group-committed): its id, and the sender's segments
        sent today and this month.

        Raises:
            SmsRefused: 486 when the sender's quota is exhausted.
        """
        if self._committing:
            future: asyncio.Future[tuple[int, int, int]] = (
                asyncio.get_running_loop().create_future()
            )

            def settle(outcome: tuple[int, int, int] | None, error: BaseException | None) -> None:
                if future.done():
                    return
                if outcome is None:
                    future.set_exception(error or RuntimeError("no outcome"))
                else:
                    future.set_result(outcome)

            self._queue.put((item, settle))
            outcome = await future
        else:
            outcome = (await self._enqueue([item]))[0]
            self._wake(item.route)
        if outcome[0] < 0:
            period = "daily" if outcome[0] == QUOTA_DAY else "monthly"
            raise SmsRefused(486, f"SMS quota exhausted ({period} limit)")
        return outcome

    def queue_nowait(self, item: NewSms, settle: Queued) -> None:
        """:meth:`queue` without a coroutine, while the committer runs: ``settle(outcome,
        None)`` once the batch is committed (an outcome below 0 is a quota refusal, as
        :meth:`queue` raises), ``settle(None, error)`` if the commit failed; both from the
        committer, in commit order."""
        if not self._committing:
            raise RuntimeError("queue_nowait() needs the committer running")
        self._queue.put((item, settle))

    async def _enqueue(self, items: Sequence[NewSms]) -> list[tuple[int, int, int]]:
        outcomes, usage = await self._store.sms.enqueue(
            items, day_limit=self.config.day_limit, month_limit=self.config.month_limit
        )
        return [
            (outcome, *usage.get(item.sender_id, (0, 0)))
            for item, outcome in zip(items, outcomes, strict=True)
        ]

    async def run_committer(self, *, max_batch: int = 512) -> None:
        """Group-commit queued SMS, one transaction per batch. Owned by the node."""
        self._committing = True
        try:
            while True:
                batch = await self._queue.take(max_batch)
                try:
                    outcomes = await self._enqueue([item for item, _ in batch])
                except Exception as exc:
                    for _, settle in batch:
                        _settle(settle, None, exc)
                    continue
                for route in {item.route for item, _ in batch}:
                    self._wake(route)
                for (_, settle), outcome in zip(batch, outcomes, strict=True):
                    _settle(settle, outcome, None)
        finally:
            self._committing = False
            for _, settle in self._queue.drain():
                _settle(settle, None, ConnectionError("the node is stopping"))

    async def send_sms(
        self,
        *,
        sender: Account | None,
        phone: str,
        text: str,
        client_key: str,
        message_id: str = "",
        recipient: Account | None = None,
        source: str | None = None,
    ) -> SmsQueued:
        """Queue an SMS to ``phone`` from ``<access code><sender's number>``.

        Raises:
            SmsRefused: no route to that number (404), refused (403), quota (486).
        """
        destination = digits(phone)
        route = self._route_for(destination)
        if route is None:
            raise SmsRefused(404, "no SMSC serves that number")
        if recipient is None and await self.uds.is_stopped(destination):
            raise SmsRefused(403, "that phone has stopped SMS")
        not_before = 0
        if recipient is not None:
            not_before = quiet_until(await self.uds.preferences(recipient.user_id), _now_us())
        item, is_truncated = self._new_sms(
            sender=sender,
            recipient=recipient,
            destination=destination,
            route=route,
            text=text,
            client_key=client_key,
            message_id=message_id,
            source=source,
            not_before=not_before,
        )
        sms_id, day_count, month_count = await self.queue(item)
        return _queued(item, is_truncated, (sms_id, day_count, month_count))

    def _new_sms(
        self,
        *,
        sender: Account | None,
        recipient: Account | None,
        destination: str,
        route: str,
        text: str,
        client_key: str,
        message_id: str,
        source: str | None,
        not_before: int,
    ) -> tuple[NewSms, bool]:
        """The outbox row of an SMS, the text cut to the segment limit; and whether it was."""
        body, is_truncated = fit(text, self.config.max_segments)
        if source is None:
            origin = sender.number or sender.sid if sender is not None else ""
            source = access_address(self.config.access_code, origin or "")
        item: NewSms = _build_new_sms(  # every field, in field order (one per SMS)
            client_key,
            route,
            sender.user_id if sender is not None else 0,
            recipient.user_id if recipient is not None else 0,
            message_id,
            source,
            destination,
            body,
            segments_of(body),
            not_before,
        )
        return item, is_truncated

    # -- IM → SMS ------------------------------------------------------------------------------

    async def offer_offline(
        self, *, sender: Account, recipient: Account, message_id: str, text: str
    ) -> SmsQueued | None:
        """The SMS leg of a stored IM: queued when the recipient is offline and accepts SMS
        (None otherwise: the IM waits for a device, as always)."""
        if await self.uds.is_online(recipient.user_id):
            return None
        if await self.uds.refusal(recipient, offline_leg=True) is not None:
            return None
        assert recipient.number is not None
        try:
            queued = await self.send_sms(
                sender=sender,
                phone=recipient.number,
                text=text,
                client_key=f"im:{message_id}",
                message_id=message_id,
                recipient=recipient,
            )
        except SmsRefused as exc:
            log.info("sms leg not sent", extra={"kv": {"why": exc.reason}})
            return None
        return queued  # the outbox write also marked the IM sent_as_sms

    def offer_offline_nowait(
        self,
        *,
        sender: Account,
        recipient: Account,
        message_id: str,
        text: str,
        answer: Callable[[SmsQueued | None], None],
    ) -> bool:
        """:meth:`offer_offline` without a coroutine, when this node's caches decide it: True
        when they did, and ``answer`` will be called from the committer with what
        :meth:`offer_offline` returns (None: no SMS leg after all, the quota refused it or the
        outbox write failed); False when they cannot (nothing done: use
        :meth:`offer_offline`). Only while the committer runs.
        """
        if not self._committing or self._registry.remote is not None:
            return False  # scaled out: "offline" means on every node, which takes a look
        if self._registry.is_online(recipient.user_id):
            answer(None)
            return True
        known, refusal = self.uds.cached_refusal(recipient, offline_leg=True)
        if not known:
            return False
        if refusal is not None:
            answer(None)
            return True
        assert recipient.number is not None
        destination = digits(recipient.number)
        route = self._route_for(destination)
        prefs = self.uds.cached_preferences(recipient.user_id)
        if route is None or prefs is None:
            return False
        item, is_truncated = self._new_sms(
            sender=sender,
            recipient=recipient,
            destination=destination,
            route=route,
            text=text,
            client_key=f"im:{message_id}",
            message_id=message_id,
            source=None,
            not_before=quiet_until(prefs, _now_us()),
        )

        def settle(outcome: tuple[int, int, int] | None, error: BaseException | None) -> None:
            if outcome is None:
                log.warning("sms leg not queued", extra={"kv": {"error": repr(error)}})
                answer(None)
            elif outcome[0] < 0:
                log.info("sms leg not sent", extra={"kv": {"why": "quota"}})
                answer(None)
            else:
                answer(_queued(item, is_truncated, outcome))

        self.queue_nowait(item, settle)
        return True

    # -- MO ------------------------------------------------------------------------------------

    async def on_mo(
        self, source: str, destination: str, text: str, *, route: str = "", key: str = ""
    ) -> None:
        """A text from a phone (reassembled), stored or delivered before the SMSC is acked.

        ``key`` (see :func:`mo_key`) makes it idempotent per SMSC ``route``: a text the SMSC
        delivers again within ``[sms] mo_dedupe_window`` (our ack was lost) is handed on under
        the same keys as the first time, which the store recognises, or, once handed on
        completely, not at all.
        """
        if not key or self.config.mo_dedupe_window <= 0:
            await self._hand_on(source, destination, text, f"mo:{secrets.token_hex(8)}")
            return
        sms = self._store.sms
        record = await sms.take_mo(route, key, window=self.config.mo_dedupe_window)
        if record.is_done:
            log.info("mo delivered again by the smsc: dropped", extra={"kv": {"key": key}})
            return
        await self._hand_on(source, destination, text, record.client_key)
        await sms.finish_mo(route, key)

    async def _hand_on(self, source: str, destination: str, text: str, client_key: str) -> None:
        """The rules of an MO; every row it writes is keyed by ``client_key``."""
        phone = digits(source)
        word = keyword(text)
        if word is not None:
            # Consumed, never forwarded (whatever number it was sent to).
            await self.uds.set_stopped(phone, word == "stop")
            log.info("sms keyword", extra={"kv": {"word": word}})
            return
        number = addressed_number(self.config.access_code, destination)
        recipient = await self.uds.user_addressed(number[1:]) if number else None
        if recipient is None:
            log.info("mo for no user dropped", extra={"kv": {"to": destination}})
            return
        sender = await self.uds.user_by_number("+" + phone)
        if sender is not None:
            stored = await self._delivery.submit(
                sender=sender,
                recipient=recipient,
                content_type="text/plain",
                body=text.encode(),
                client_key=client_key,
            )
            await self.offer_offline(
                sender=sender, recipient=recipient, message_id=stored.message_id, text=text
            )
            return
        # Not stored (the phone has no account): a redelivery reuses the id, which a client
        # that already has the message drops.
        message_id = "sms-" + hashlib.sha256(client_key.encode()).hexdigest()[:16]
        if await self._deliver_from_phone(phone, recipient, text, message_id):
            return
        if await self.uds.refusal(recipient, offline_leg=True) is None:
            assert recipient.number is not None
            await self.send_sms(
                sender=None,
                phone=recipient.number,
                text=text,
                client_key=f"relay:{client_key}",
                recipient=recipient,
                source=access_address(self.config.access_code, phone),
            )

    async def _deliver_from_phone(
        self, phone: str, recipient: Account, text: str, message_id: str
    ) -> bool:
        """An IM from ``tel:+<phone>`` to the recipient's devices, here and (scaled out) on
        other nodes, all asked at once; True if one took it within :data:`DEVICE_WAIT`."""
        here = offer_from_phone(
            self._registry.bindings(recipient.user_id),
            domain=self.config.domain,
            phone=phone,
            text=text,
            message_id=message_id,
        )
        if self.elsewhere is None:
            return await here
        there = self.elsewhere.deliver_from_phone(
            recipient.user_id, phone, text, message_id, within=DEVICE_WAIT
        )
        return any(await asyncio.gather(here, there))

    # -- receipts ------------------------------------------------------------------------------

    async def on_final(self, finished: Sequence[OutboxSms]) -> None:
        """SMS whose receipts say delivered or failed (their IMs' statuses already moved with
        the receipts, in the store): tell the senders' devices."""
        for sms in finished:
            if not sms.sender_id:
                continue
            bindings = self._registry.bindings(sms.sender_id)
            if bindings and self._tell_sipc(sms, bindings):
                await self._tell_sip(sms, bindings)

    def _tell_sipc(self, sms: OutboxSms, bindings: Sequence[Binding]) -> bool:
        """Tell the sender's SIP-C devices (a ``BN``, written as bytes); True if SIP devices
        remain to be told."""
        kind = "SmsDelivered" if sms.state == "delivered" else "SmsFailed"
        body = (
            f'<events><event type="{kind}"><message id={outbound.attr(sms.message_id)}'
            f" to={outbound.attr('tel:+' + sms.destination)} state={outbound.attr(sms.detail)}"
            f' parts="{sms.segments}"/></event></events>'
        )
        has_sip = False
        for binding in bindings:
            if binding.dialect is not Dialect.SIPC:
                has_sip = True
            elif binding.link.is_open:
                wire = outbound.sipc_notification_wire(binding, "MessageStatus", body)
                if wire is not None:
                    binding.link.send_bytes(wire)
                else:
                    binding.link.send(outbound.sipc_notification(binding, "MessageStatus", body))
        return has_sip and bool(sms.message_id)

    async def _tell_sip(self, sms: OutboxSms, bindings: Sequence[Binding]) -> None:
        """Tell the sender's SIP devices: a ``MESSAGE`` with an RFC 5438 IMDN body from the
        recipient."""
        recipient_sid = sms.destination
        if sms.recipient_id:
            with contextlib.suppress(NotFound):
                recipient_sid = (await self._account(sms.recipient_id)).sid
        for binding in bindings:
            if binding.dialect is Dialect.SIPC:
                continue
            note = outbound.InstantMessage(
                message_id=f"imdn-{sms.sms_id}",
                sender_sid=recipient_sid,
                content_type="message/imdn+xml",
                body=_imdn(sms.message_id, sms.state == "delivered").encode(),
                created_at=datetime.now(tz=UTC),
            )
            request = outbound.im_request(binding, note, domain=self.config.domain)
            await self._notify(binding, request)


def _queued(item: NewSms, is_truncated: bool, outcome: tuple[int, int, int]) -> SmsQueued:
    sms_id, day_count, month_count = outcome
    queued: SmsQueued = _build_queued(  # every field, in field order
        sms_id, item.destination, item.segments, is_truncated, day_count, month_count
    )
    return queued


#: ``NewSms(...)`` and ``SmsQueued(...)`` positionally (``columba.slots.builder``).
_build_new_sms = builder(NewSms)
_build_queued = builder(SmsQueued)


def _settle(
    settle: Queued, outcome: tuple[int, int, int] | None, error: BaseException | None
) -> None:
    try:
        settle(outcome, error)
    except Exception:
        log.exception("answering a queued sms failed")


def _imdn(message_id: str, is_delivered: bool) -> str:
    """An RFC 5438 delivery notification."""
    status = "<delivered/>" if is_delivered else "<failed/>"
    moment = datetime.now(tz=UTC).isoformat()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<imdn xmlns="urn:ietf:params:xml:ns:imdn">'
        f"<message-id>{escape(message_id)}</message-id><datetime>{moment}</datetime>"
        f"<delivery-notification><status>{status}</status></delivery-notification></imdn>"
    )


def _now_us() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1_000_000)
