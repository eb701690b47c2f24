"""Number ranges → home SMSC, and the access-code addressing of SMS (``12520<number>``).

A deployment binds to one or more SMSCs, each serving a range of numbers (a prefix); a
number's *home* SMSC is the one with the longest matching prefix, the route without a prefix
being the default. ``[sms] smscs`` spells the routes as ``[<prefix>=]host:port`` separated by
commas, e.g. ``"+86138=10.0.0.5:2775, 10.0.0.6:2775"``.

The access code (Fetion's 12520, fetion-sipc.md §4) makes a Columba user reachable from any
phone: a text to ``<access code><number>`` goes to the user with that number, and an SMS
sent *for* a user comes from ``<access code><sender's number>``, so a reply threads back.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Longest address in a submit_sm / deliver_sm (SMPP 3.4 §5.2.8: 21 octets with the NUL).
MAX_ADDRESS_DIGITS = 20


class RouteError(ValueError):
    """A route specification that cannot be read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SmscRoute:
    """One SMSC and the numbers it serves.

    Attributes:
        prefix: The E.164 prefix of the numbers it serves (digits, no ``+``); "" = default.
        host: The SMSC's host.
        port: Its SMPP port.
    """

    prefix: str
    host: str
    port: int

    @property
    def name(self) -> str:
        """``host:port``, for logs and metrics."""
        return f"{self.host}:{self.port}"


def parse_routes(text: str) -> tuple[SmscRoute, ...]:
    """Read ``[<prefix>=]host:port, …``.

    Raises:
        RouteError: An entry is malformed, or two entries have the same prefix.
    """
    routes: list[SmscRoute] = []
    for entry in (item.strip() for item in text.split(",")):
        if not entry:
            continue
        prefix, _, address = entry.rpartition("=")
        prefix = digits(prefix) if prefix else ""
        host, colon, port_text = address.strip().rpartition(":")
        host = host.strip().strip("[]")
        if not colon or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise RouteError(f"expected [<prefix>=]host:port, not {entry!r}")
        if any(route.prefix == prefix for route in routes):
            raise RouteError(f"two SMSCs for the prefix {prefix or '(default)'!r}")
        routes.append(SmscRoute(prefix=prefix, host=host, port=int(port_text)))
    return tuple(routes)


def digits(number: str) -> str:
    """The digits of a number (``+86 138-0000`` → ``861380000``).

    Raises:
        RouteError: It has characters other than digits, ``+``, spaces and dashes.
    """
    cleaned = number.strip().lstrip("+").replace(" ", "").replace("-", "")
    if cleaned and not (cleaned.isascii() and cleaned.isdigit()):
        raise RouteError(f"not a number: {number!r}")
    return cleaned


def home_route(routes: tuple[SmscRoute, ...], number: str) -> SmscRoute | None:
    """The route with the longest prefix matching ``number`` (None when none matches)."""
    wanted = digits(number)
    best: SmscRoute | None = None
    for route in routes:
        if wanted.startswith(route.prefix) and (
            best is None or len(route.prefix) > len(best.prefix)
        ):
            best = route
    return best


def access_address(access_code: str, number: str) -> str:
    """The address a phone texts to reach ``number`` (and that SMS for it come from)."""
    return access_code + digits(number)


def addressed_number(access_code: str, destination: str) -> str | None:
    """The Columba number an MO to ``destination`` is for: ``12520<digits>`` → ``+<digits>``.

    None when the destination is not under the access code, or is the bare code.
    """
    wanted = digits(destination) if destination else ""
    if not wanted.startswith(access_code) or len(wanted) == len(access_code):
        return None
    return "+" + wanted[len(access_code) :]


def e164(number: str) -> str:
    """``+<digits>``: how accounts store numbers."""
    return "+" + digits(number)
