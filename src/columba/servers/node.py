"""``columba serve``: one process running every role on the configured listeners.

Resources: the store is opened first and closed last; every listener and background task is
owned by one task group, so an error in any of them stops the node, and a shutdown signal
(SIGINT/SIGTERM) cancels them all and closes connections before the store. Bound addresses are
printed at start-up, one ``listening <name> <address>`` line each (port 0 picks a free one).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TextIO

from aiohttp import web
from redis.exceptions import RedisError

from columba import affinity
from columba.cluster.join import join as join_cluster
from columba.config import Config
from columba.core.accounts import PasswordPolicy
from columba.core.delivery import DeliveryConfig
from columba.core.login import LoginPolicy
from columba.metrics import Metrics
from columba.net.stream import StreamLink
from columba.net.udp import UdpEndpoint
from columba.protocol.mcp.connection import McpConfig
from columba.protocol.sip.parser import ParseLimits
from columba.robots.server import RobotServer
from columba.servers.gateway import AccessGateway
from columba.servers.groups.wiring import start_groups
from columba.servers.im.fastpath import fast_message
from columba.servers.im.server import ImConfig, ImServer
from columba.servers.sms import SmsServer, start_sms_leg
from columba.servers.ssi_web import ssi_policy
from columba.servers.web import make_app
from columba.smsc.simulator import SmscConfig, SmscSimulator
from columba.storage import Store, open_store

log = logging.getLogger(__name__)


def im_config(config: Config) -> ImConfig:
    """The IM server's part of the configuration."""
    return ImConfig(
        domain=config.server.domain,
        realm=config.server.realm,
        multi_device=str(config.login.multi_device),
        register_expires=config.login.register_expires,
        min_expires=config.login.min_expires,
        max_expires=config.login.max_expires,
        max_message_chars=config.limits.max_message_chars,
        requests_per_second=config.limits.requests_per_second,
        delivery=DeliveryConfig(
            ack_timeout=config.delivery.ack_timeout,
            window=config.delivery.window,
            retry_base=config.delivery.retry_base,
            retry_max=config.delivery.retry_max,
        ),
        login=LoginPolicy(
            failure_delay_base=config.login.failure_delay_base,
            failure_delay_max=config.login.failure_delay_max,
            failures_before_lockout=config.login.failures_before_lockout,
            lockout_seconds=config.login.lockout_seconds,
            digest_algorithms=tuple(
                name.strip() for name in config.login.digest_algorithms.split(",")
            ),
            ssi=ssi_policy(config),
        ),
        passwords=PasswordPolicy(min_length=config.accounts.password_min_length),
    )


def limits(config: Config) -> ParseLimits:
    """Parser limits from ``[limits]``."""
    return ParseLimits(
        max_header_bytes=config.limits.max_header_bytes,
        max_headers=config.limits.max_headers,
        max_body_bytes=config.limits.max_body_bytes,
    )


class Node:
    """Every role of one Columba process, and the listeners in front of them."""

    def __init__(self, config: Config, store: Store, *, out: TextIO = sys.stdout) -> None:
        self.config = config
        self.store = store
        self.metrics = Metrics()
        self.im = ImServer(store=store, config=im_config(config), metrics=self.metrics)
        self.limits = limits(config)
        self.addresses: dict[str, str] = {}
        self._out = out
        self._connections = 0
        self._links: set[StreamLink] = set()
        self._handlers: set[asyncio.Task[object]] = set()
        self.smsc: SmscSimulator | None = None
        self.sms: SmsServer | None = None
        #: The robot server (groups with robots), once started.
        self.robots: RobotServer | None = None
        #: Scaled out (``[registry] url = "redis://…"``): this node's cross-node registry.
        self.cluster = join_cluster(config, self.im)

    def _announce(self, name: str, address: str) -> None:
        self.addresses[name] = address
        print(f"listening {name} {address}", file=self._out, flush=True)

    async def _on_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str
    ) -> None:
        if self._connections >= self.config.limits.max_connections:
            writer.close()
            return
        self._connections += 1
        self.metrics.connection_opened(transport)
        link = StreamLink(reader, writer, transport=transport, limits=self.limits)
        task = asyncio.current_task()
        assert task is not None
        self._links.add(link)
        self._handlers.add(task)
        try:
            await link.run(
                self.im.handle,
                self.im.bad_message,
                self.im.link_closed,
                partial(fast_message, self.im),
            )
        finally:
            self._links.discard(link)
            self._handlers.discard(task)
            self._connections -= 1
            self.metrics.connection_closed(transport)

    def _acceptor(
        self, transport: str
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._on_stream(reader, writer, transport)

        return accept

    async def run(self, *, ready: Callable[[], None] | None = None) -> None:
        """Start every listener and run until cancelled."""
        listen = self.config.listen
        servers: list[asyncio.base_events.Server] = []
        runner: web.AppRunner | None = None
        udp_transport: asyncio.DatagramTransport | None = None
        try:
            async with asyncio.TaskGroup() as group:
                if self.cluster is not None:
                    await self._join_cluster(group)
                if listen.sip_udp is not None:
                    endpoint = UdpEndpoint(
                        handle=self.im.handle, bad=self.im.bad_message, limits=self.limits
                    )
                    loop = asyncio.get_running_loop()
                    udp_transport, _ = await loop.create_datagram_endpoint(
                        lambda: endpoint, local_addr=(listen.sip_udp.host, listen.sip_udp.port)
                    )
                    group.create_task(endpoint.run())
                    self._announce("sip-udp", endpoint.local_host)
                for name, address, transport, context in (
                    ("sip-tcp", listen.sip_tcp, "tcp", None),
                    ("sipc-tcp", listen.sipc_tcp, "tcp", None),
                    ("sip-tls", listen.sip_tls, "tls", self._tls_context()),
                ):
                    if address is None:
                        continue
                    server = await asyncio.start_server(
                        self._acceptor(transport),
                        address.host,
                        address.port,
                        ssl=context,
                    )
                    servers.append(server)
                    sock = server.sockets[0].getsockname()
                    self._announce(name, _hostport(sock))
                if listen.mcp is not None:
                    await self._start_gateway(servers)
                if listen.smsc is not None and self.config.sms.enabled:
                    await self._start_smsc(group)
                if self.config.sms.enabled:  # the SMS leg (servers/sms.py)
                    self.sms = await start_sms_leg(self, group)
                self.robots = await start_groups(self, group)  # servers/groups/wiring.py
                if listen.http is not None:
                    app = make_app(self)
                    runner = web.AppRunner(app, access_log=None, handle_signals=False)
                    await runner.setup()
                    site = web.TCPSite(runner, listen.http.host, listen.http.port)
                    await site.start()
                    server_obj = site._server
                    assert server_obj is not None
                    sockets = getattr(server_obj, "sockets", [])
                    self._announce("http", "http://" + _hostport(sockets[0].getsockname()))
                    self.im.login.ssi.set_default_issuer(self.addresses["http"])
                group.create_task(self.im.expire_bindings())
                group.create_task(self.im.delivery.run_committer())
                tune_gc(self.config.server.gc_threshold)
                cpus = affinity.parse_cpu_list(self.config.server.event_loop_cpus)
                if cpus:
                    affinity.place(cpus, asyncio.get_running_loop())
                print("columba ready", file=self._out, flush=True)
                if ready is not None:
                    ready()
        finally:
            for server in servers:
                server.close()
            # Close every connection and let its handler finish (devices go offline) while
            # the store is still open.
            for link in list(self._links):
                link.close()
            if self._handlers:
                await asyncio.wait(set(self._handlers), timeout=5)
            if udp_transport is not None:
                udp_transport.close()
            if runner is not None:
                await runner.cleanup()
            if self.cluster is not None:
                await self.cluster.stop()

    async def _join_cluster(self, group: asyncio.TaskGroup) -> None:
        """Claim this node's name in the Redis registry and subscribe to its inbox."""
        assert self.cluster is not None
        try:
            await self.cluster.start()
        except (RedisError, OSError) as exc:
            raise OSError(f"location registry unreachable: {exc}") from exc
        group.create_task(self.cluster.run())
        await self.cluster.wait_subscribed()
        self._announce("cluster-node", self.config.server.node_name)

    async def _start_gateway(self, servers: list[asyncio.base_events.Server]) -> None:
        """The access gateway, relaying MCP to this node's own SIP-C listener."""
        listen = self.config.listen
        assert listen.mcp is not None
        upstream = self.addresses.get("sipc-tcp")
        if upstream is None:
            log.warning("mcp listener needs the sipc_tcp listener; not started")
            return
        host, port = upstream.rsplit(":", 1)
        gateway = AccessGateway(
            upstream=(host.strip("[]"), int(port)),
            config=McpConfig(domains=(self.config.server.domain,)),
            limits=self.limits,
        )
        server = await asyncio.start_server(gateway.handle, listen.mcp.host, listen.mcp.port)
        servers.append(server)
        self._announce("mcp", _hostport(server.sockets[0].getsockname()))

    async def _start_smsc(self, group: asyncio.TaskGroup) -> None:
        """The built-in SMSC simulator: an SMPP server with virtual handsets.

        Its control channel (``columba phone``) listens on the next port up, or on any free
        port when the SMPP port is 0.
        """
        listen = self.config.listen
        assert listen.smsc is not None
        self.smsc = SmscSimulator(SmscConfig())
        port = listen.smsc.port
        control = (listen.smsc.host, port + 1 if port else 0)
        runner = group.create_task(self.smsc.run(host=listen.smsc.host, port=port, control=control))
        started = asyncio.ensure_future(self.smsc.wait_started())
        await asyncio.wait({runner, started}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            started.cancel()
            await runner  # raises the listener's OSError
        assert self.smsc.address is not None
        self._announce("smsc", _hostport(tuple(self.smsc.address)))
        if self.smsc.control_address is not None:
            self._announce("smsc-control", _hostport(tuple(self.smsc.control_address)))

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.listen.sip_tls is None:
            return None
        tls = self.config.tls
        assert tls.cert_file is not None
        assert tls.key_file is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        return context


def _hostport(sock: object) -> str:
    if isinstance(sock, tuple):
        host, port = sock[0], sock[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(sock)


async def serve(config: Config, *, out: TextIO = sys.stdout) -> None:
    """Open the store and run the node until SIGINT/SIGTERM."""
    config.server.data_dir.mkdir(parents=True, exist_ok=True)
    store = await open_store(config.storage.url)
    async with store:
        node = Node(config, store, out=out)
        task = asyncio.create_task(node.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log.info("shutting down")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def tune_gc(threshold: int) -> None:
    """Once the node is up: freeze what start-up made, and collect less often (decision 0021).

    With Python's defaults (700, 10, 10) a busy server runs a young pass every few messages
    and, every 100 of those, a pass over the older objects of thousands of connections, which
    stalls every message in flight (group fan-out p99 129 ms instead of 56 ms on the 2-core
    machine). ``gc.freeze`` moves the start-up objects (modules, tables, the FAQ robot's model)
    out of every pass; the thresholds make the passes rarer. Reference counting still frees
    almost everything at once; only cyclic garbage waits longer.
    """
    gc.freeze()
    if threshold > 0:
        gc.set_threshold(threshold, 20, 100)
