"""The SMS server role: SMPP binds to the SMSCs, and the outbox pump between them and the store.

One :class:`~columba.sms.esme.Esme` per SMSC route (``[sms] smscs``; the built-in simulator
when none is configured). The ESME keeps its bind up (reconnect with back-off up to
``[sms] reconnect_max``, enquire_link, the send window, pauses on ESME_RTHROTTLED /
ESME_RMSGQFUL: :mod:`columba.sms.session`). Per route, a pump:

1. waits until the bind is up and the route has queued SMS (woken by the bridge);
2. claims a batch from the outbox (one transaction), submits every SMS of it at once (the
   session pipelines them within the window);
3. settles the batch in one transaction: accepted (SMSC ids kept to match receipts),
   back in the queue (bind lost, throttled for too long) or failed (refused for good).

Delivery receipts are group-committed too: each is matched to its SMS by SMSC message id;
an SMS whose every segment was delivered (or one failed) goes to the bridge, which tells the
sender. A receipt the store cannot take is acked and held in memory until it can (some SMSCs
never resend a refused receipt), unless the store has failed for longer than
``receipt_hold``. An SMS with no final receipt after ``submitted_expiry`` fails as EXPIRED.
Mobile-originated texts go to the bridge, with their route and :func:`mo_key`, before the SMSC
gets its ack; the bridge recognises a text the SMSC delivers again (docs/sms.md).

Resources and errors: :meth:`SmsServer.run` owns every ESME and pump in one TaskGroup and
returns only when cancelled; SMSC outages never end it (the SMS wait in the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from columba.core.batchqueue import BatchQueue
from columba.core.sms_bridge import BridgeConfig, SmsBridge, mo_key
from columba.core.uds import UdsConfig, UserDataService
from columba.sms.errors import SmsUsageError
from columba.sms.esme import (
    Esme,
    EsmeConfig,
    IncomingMessage,
    NotBound,
    ReceiptReceived,
    RequestError,
)
from columba.sms.pdu import CommandStatus, Pdu, SubmitSmResp
from columba.sms.reassembly import Completed
from columba.sms.receipt import STAT_WORDS, MessageState
from columba.sms.routing import SmscRoute, home_route, parse_routes
from columba.sms.session import SessionConfig
from columba.storage import StorageError
from columba.storage.sms import OutboxSms, SmsStore

if TYPE_CHECKING:
    from columba.servers.node import Node

log = logging.getLogger(__name__)

_STATUSES = frozenset(CommandStatus)
#: Refusals worth another try later (the SMSC is busy, not the message wrong).
_TEMPORARY = frozenset(
    {
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RX_T_APPN,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsServerConfig:
    """The binds (``[sms]``)."""

    routes: tuple[SmscRoute, ...]
    system_id: str = "columba"
    password: str = "columba"
    window: int = 100
    reconnect_max: float = 60.0
    batch: int = 1000
    retry_delay: float = 5.0
    orphan_seconds: float = 60.0
    #: Receipts and MO held for their group commit at once; past it the SMSC is told to
    #: retry later (ESME_RMSGQFUL), which not every SMSC does for receipts.
    max_unacked: int = 20_000
    #: Seconds the store may fail before receipts are refused (ESME_RX_T_APPN) rather than
    #: acked and held in memory to be applied when it is back.
    receipt_hold: float = 300.0
    #: Seconds a submitted SMS waits for its final receipt before it fails as EXPIRED.
    submitted_expiry: float = 48 * 3600.0


class SmsServer:
    """ESMEs and outbox pumps for every SMSC route."""

    def __init__(self, *, store: SmsStore, config: SmsServerConfig) -> None:
        self._store = store
        self.config = config
        self.bridge: SmsBridge | None = None
        self.esmes: dict[str, Esme] = {}
        self._orphans: dict[str, tuple[tuple[str, bool, str], float]] = {}
        #: SMSC ids of submits answered but not yet settled in the store, and the future
        #: their batch's settle completes.
        self._unsettled: dict[str, asyncio.Future[None]] = {}
        #: Receipts acked while the store failed, to apply once it is back.
        self._held: dict[str, tuple[str, bool, str]] = {}
        #: Since when (loop time) the store has failed to take receipts; None: it takes them.
        self._store_down_since: float | None = None
        self._wakes: dict[str, asyncio.Event] = {}
        #: Receipts waiting for their group commit, with what settles each (``None``: stored).
        self._receipts: BatchQueue[
            tuple[ReceiptReceived, Callable[[BaseException | None], None]]
        ] = BatchQueue()
        for route in config.routes:
            self._wakes[route.prefix] = asyncio.Event()
            self.esmes[route.prefix] = Esme(
                EsmeConfig(
                    host=route.host,
                    port=route.port,
                    system_id=config.system_id,
                    password=config.password,
                    reconnect_initial=min(1.0, config.reconnect_max),
                    reconnect_max=config.reconnect_max,
                    session=SessionConfig(window=config.window, max_unacked=config.max_unacked),
                ),
                on_message=self._mo_handler(route.prefix),
                receipt_sink=self._take_receipt,
            )

    def route_for(self, number: str) -> str | None:
        """The prefix of a number's home SMSC route (None: no SMSC serves it)."""
        route = home_route(self.config.routes, number)
        return None if route is None else route.prefix

    def wake(self, route: str) -> None:
        """Something was queued for ``route``."""
        event = self._wakes.get(route)
        if event is not None:
            event.set()

    async def run(self) -> None:
        """Bind to every SMSC and pump the outbox until cancelled."""
        recovered = await self._store.recover()
        if recovered:
            log.info("sms requeued after restart", extra={"kv": {"count": recovered}})
        async with asyncio.TaskGroup() as group:
            group.create_task(self._commit_receipts())
            for prefix, esme in self.esmes.items():
                group.create_task(esme.run())
                # Two pumps per route: one claims and submits while the other's batch waits
                # for its responses and is settled, so the window never runs dry.
                claiming = asyncio.Lock()
                for _ in range(2):
                    group.create_task(self._pump(prefix, esme, claiming))
                group.create_task(self._expire(prefix))

    async def close(self) -> None:
        """Unbind from every SMSC."""
        for esme in self.esmes.values():
            await esme.close(grace=2.0)

    # -- MT ------------------------------------------------------------------------------------

    async def _pump(self, prefix: str, esme: Esme, claiming: asyncio.Lock) -> None:
        wake = self._wakes[prefix]
        wake.set()  # whatever the store holds from before
        while True:
            await esme.wait_bound()
            try:
                async with claiming:
                    wake.clear()
                    batch = await self._store.claim(prefix, self.config.batch)
                if batch:
                    await self._submit_batch(esme, batch)
                    continue
            except StorageError:
                # The store is unreachable: what was claimed stays "submitting" and is
                # recovered at the next start; try again in a moment.
                log.exception("sms outbox unavailable")
            # Also look again now and then: SMS held by quiet hours or a retry delay.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await wake.wait()

    async def _submit_batch(self, esme: Esme, batch: Sequence[OutboxSms]) -> None:
        # Every part of every SMS goes out at once (the session keeps the window); one gather.
        futures: list[list[asyncio.Future[Pdu]] | Exception] = []
        for sms in batch:
            try:
                futures.append(esme.submit_nowait(sms.destination, sms.body, source=sms.source))
            except (NotBound, SmsUsageError) as exc:
                futures.append(exc)
        flat = [f for item in futures if isinstance(item, list) for f in item]
        # A receipt may come back before this batch's outcome is written: the ids the SMSC
        # gave are noted as they come, and receipts for them wait for ``settled``.
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        noted: list[str] = []
        unsettled = self._unsettled

        def note(future: asyncio.Future[Pdu]) -> None:
            if not future.cancelled() and future.exception() is None:
                response = future.result()
                if isinstance(response, SubmitSmResp) and response.message_id:
                    unsettled[response.message_id] = settled
                    noted.append(response.message_id)

        for future in flat:
            future.add_done_callback(note)
        try:
            await self._settle_batch(batch, futures, flat)
        finally:
            for smsc_id in noted:
                if unsettled.get(smsc_id) is settled:
                    del unsettled[smsc_id]
            settled.set_result(None)

    async def _settle_batch(
        self,
        batch: Sequence[OutboxSms],
        futures: list[list[asyncio.Future[Pdu]] | Exception],
        flat: list[asyncio.Future[Pdu]],
    ) -> None:
        await asyncio.gather(*flat, return_exceptions=True)
        submitted: list[tuple[int, Sequence[str]]] = []
        requeued: list[tuple[int, int]] = []
        failed: list[tuple[int, str]] = []
        retry_at = self._store.now() + int(self.config.retry_delay * 1_000_000)
        for sms, item in zip(batch, futures, strict=True):
            outcome = _outcome(item)
            if isinstance(outcome, list):
                submitted.append((sms.sms_id, outcome))
            elif outcome is None:
                requeued.append((sms.sms_id, retry_at))
            else:
                failed.append((sms.sms_id, outcome))
        await self._store.settle(submitted, requeued, failed)
        await self._retry_orphans()
        if failed and self.bridge is not None:
            refused = {sms_id for sms_id, _ in failed}
            await self.bridge.on_final(
                [replace(s, state="failed", detail="REJECTD") for s in batch if s.sms_id in refused]
            )

    # -- MO and receipts -----------------------------------------------------------------------

    def _mo_handler(self, route: str) -> Callable[[IncomingMessage], Awaitable[None]]:
        async def on_message(message: IncomingMessage) -> None:
            if not isinstance(message, Completed) or message.text is None:
                log.info("partial or binary mo dropped", extra={"kv": {"from": message.source}})
                return
            if self.bridge is not None:
                await self.bridge.on_mo(
                    message.source,
                    message.destination,
                    message.text,
                    route=route,
                    key=mo_key(message),
                )

        return on_message

    def _take_receipt(self, receipt: ReceiptReceived, ack: Callable[[int], None]) -> None:
        """Queue a receipt for the next group commit; ``ack`` answers the SMSC after it."""

        def settle(error: BaseException | None) -> None:
            if error is None:
                ack(CommandStatus.ESME_ROK)
                return
            log.error("storing a receipt failed", extra={"kv": {"error": repr(error)}})
            ack(CommandStatus.ESME_RX_T_APPN)

        self._receipts.put((receipt, settle))

    async def _commit_receipts(self, *, max_batch: int = 1000) -> None:
        while True:
            if self._orphans or self._held:
                # A receipt may have been found unknown while its submit's outcome was being
                # written (another connection, on PostgreSQL): look again soon.
                try:
                    async with asyncio.timeout(0.2):
                        batch = await self._receipts.take(max_batch)
                except TimeoutError:
                    with contextlib.suppress(StorageError):
                        await self._retry_orphans()
                    continue
            else:
                batch = await self._receipts.take(max_batch)
            rows: list[tuple[str, bool, str]] = []
            for received, _ in batch:
                receipt = received.receipt
                if receipt.message_id is None or not receipt.state.is_final:
                    continue
                is_delivered = receipt.state is MessageState.DELIVERED
                rows.append((receipt.message_id, is_delivered, STAT_WORDS[receipt.state]))
            # Receipts that overtook the write of their submit's outcome wait for it here,
            # rather than being looked up in vain and kept as orphans.
            waits = {self._unsettled[row[0]] for row in rows if row[0] in self._unsettled}
            if waits:
                await asyncio.wait(waits)
            try:
                await self._apply(rows)
            except StorageError as exc:
                if self._hold(rows):
                    log.warning("receipts held: the store failed", extra={"kv": {"error": exc}})
                else:
                    for _, settle in batch:
                        settle(exc)
                    continue
            except Exception as exc:
                for _, settle in batch:
                    settle(exc)
                continue
            for _, settle in batch:
                settle(None)

    def _hold(self, rows: Sequence[tuple[str, bool, str]]) -> bool:
        """Keep receipts the store could not take, to apply later; False (refuse them) when it
        has failed for longer than ``receipt_hold`` or too many are held already."""
        now = asyncio.get_running_loop().time()
        if self._store_down_since is None:
            self._store_down_since = now
        if now - self._store_down_since > self.config.receipt_hold:
            return False
        if len(self._held) + len(rows) > self.config.max_unacked:
            return False
        self._held.update((row[0], row) for row in rows)
        return True

    async def _apply(self, rows: Sequence[tuple[str, bool, str]]) -> None:
        """Apply receipts; keep those that overtook their submit's outcome for later."""
        finished, unknown = await self._store.apply_receipts(rows)
        self._store_down_since = None
        now = asyncio.get_running_loop().time()
        missing = set(unknown)
        for row in rows:
            smsc_id = row[0]
            if smsc_id not in missing:
                self._orphans.pop(smsc_id, None)
                continue
            first = self._orphans.get(smsc_id, (row, now))[1]
            if now - first < self.config.orphan_seconds:
                self._orphans[smsc_id] = (row, first)
            else:
                self._orphans.pop(smsc_id, None)
                log.info("receipt for no known sms", extra={"kv": {"id": smsc_id}})
        if finished and self.bridge is not None:
            await self.bridge.on_final(finished)

    async def _retry_orphans(self) -> None:
        """Receipts held while the store failed, and receipts that came before their submit
        was settled: apply them again."""
        if self._held:
            held = list(self._held.values())
            await self._apply(held)
            for row in held:
                self._held.pop(row[0], None)
        if self._orphans:
            await self._apply([row for row, _ in self._orphans.values()])

    async def _expire(self, prefix: str) -> None:
        """Fail the route's SMS whose final receipt never came (``submitted_expiry``), and
        tell their senders as a failed receipt would."""
        expiry = self.config.submitted_expiry
        interval = min(60.0, max(0.05, expiry / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                expired = await self._store.expire_submitted(prefix, expiry)
            except StorageError as exc:
                log.warning("sms expiry not checked", extra={"kv": {"error": exc}})
                continue
            if expired:
                log.info("sms expired", extra={"kv": {"count": len(expired)}})
                if self.bridge is not None:
                    await self.bridge.on_final(expired)


async def start_sms_leg(node: Node, group: asyncio.TaskGroup) -> SmsServer | None:
    """Wire the UDS, the bridge and the SMS server into a node and start them in ``group``.

    The SMSCs are ``[sms] smscs``; with none configured, the node's built-in simulator (with
    the default account). No SMSC at all: no SMS leg (a warning says so).
    """
    config = node.config.sms
    routes = parse_routes(config.smscs)
    system_id, password = config.system_id, config.password
    if not routes and node.smsc is not None and node.smsc.address is not None:
        host, port = node.smsc.address[0], node.smsc.address[1]
        routes = (SmscRoute(prefix="", host=host, port=port),)
        account = node.smsc.config.accounts[0]
        system_id, password = account.system_id, account.password
    if not routes:
        log.warning("[sms] is on but no SMSC is configured and the simulator is off")
        return None
    store = node.store
    server = SmsServer(
        store=store.sms,
        config=SmsServerConfig(
            routes=routes,
            system_id=system_id,
            password=password,
            window=config.window,
            reconnect_max=config.reconnect_max,
            retry_delay=min(5.0, config.reconnect_max),
            submitted_expiry=config.submitted_expiry,
        ),
    )
    im = node.im
    uds = UserDataService(
        store=store,
        registry=im.registry,
        config=UdsConfig(day_limit=config.day_limit, month_limit=config.month_limit),
    )
    bridge = SmsBridge(
        store=store,
        uds=uds,
        registry=im.registry,
        delivery=im.delivery,
        notify=im.notify,
        route_for=server.route_for,
        wake=server.wake,
        account=im.account,
        config=BridgeConfig(
            domain=node.config.server.domain,
            access_code=config.access_code,
            max_segments=config.max_segments,
            day_limit=config.day_limit,
            month_limit=config.month_limit,
            mo_dedupe_window=config.mo_dedupe_window,
        ),
    )
    # Scaled out, texts from phones with no account reach the recipient on any node.
    bridge.elsewhere = node.cluster
    server.bridge = bridge
    im.sms = bridge
    group.create_task(bridge.run_committer())
    group.create_task(server.run())
    return server


def _outcome(item: list[asyncio.Future[Pdu]] | Exception) -> list[str] | str | None:
    """An SMS's fate from its parts' futures: the SMSC ids, a reason it failed for good, or
    None for "try again later" (not bound, link lost, throttled or busy)."""
    if isinstance(item, NotBound):
        return None
    if isinstance(item, Exception):
        return f"cannot be sent: {item}"
    ids: list[str] = []
    for future in item:
        error = future.exception()
        if isinstance(error, RequestError):
            return None
        if error is not None:
            return f"error: {type(error).__name__}"
        response = future.result()
        status = response.command_status
        if status in _TEMPORARY:
            return None
        if status != CommandStatus.ESME_ROK or not isinstance(response, SubmitSmResp):
            return f"refused: {CommandStatus(status).name if status in _STATUSES else status}"
        ids.append(response.message_id)
    return ids
