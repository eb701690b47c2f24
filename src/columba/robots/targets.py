"""Webhook targets: refuse URLs that reach into private networks (SSRF, sso-bots.md B.5 item 10).

A webhook URL is checked when it is registered and again before each delivery (its name may
resolve elsewhere by then): every address the host resolves to must be public unless the
operator allows private targets (``[robots] allow_private_webhooks``, for tests and for robots
on the same machine).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """The webhook URL is malformed, not http(s), or reaches a private network."""


def check_url_syntax(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL (``TargetRefused`` otherwise)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"bad webhook URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the webhook URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise TargetRefused("the webhook URL must not carry credentials")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: str) -> bool:
    """True for a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raises ``TargetRefused`` unless ``url`` may receive robot events."""
    host, port = check_url_syntax(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(is_public(str(a)) for a in addresses):
        raise TargetRefused(f"{host} is a private or disallowed network")
