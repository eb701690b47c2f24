"""A text from a phone with no account, handed straight to the recipient's devices.

Such a text is not stored (no account sends it), so it reaches only devices that are logged
in now: :func:`offer_from_phone` asks those bound to this node, and a :class:`PhoneRelay`
(scaled out: ``columba.cluster``) asks those bound to other nodes. Whoever acknowledges within
:data:`DEVICE_WAIT` has it; if no one does, the bridge sends it on as SMS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from columba.core import outbound
from columba.core.registry import Binding
from columba.protocol.sip.message import Header, Request

#: Seconds devices are given to acknowledge: the SMSC waits for our deliver_sm_resp
#: meanwhile, and would send the text again if it waited too long.
DEVICE_WAIT = 10.0


class PhoneRelay(Protocol):
    """The recipient's devices on other nodes."""

    async def deliver_from_phone(
        self, user_id: int, phone: str, text: str, message_id: str, *, within: float
    ) -> bool:
        """Offer the text to the user's devices on other nodes; True if one took it."""
        ...


async def offer_from_phone(
    bindings: Sequence[Binding],
    *,
    domain: str,
    phone: str,
    text: str,
    message_id: str,
    within: float = DEVICE_WAIT,
) -> bool:
    """An IM from ``tel:+<phone>`` to each of ``bindings`` at once; True if one took it."""
    created_at = datetime.now(tz=UTC)

    async def ask(binding: Binding) -> bool:
        message = outbound.InstantMessage(
            message_id=message_id,
            sender_sid=phone,
            content_type="text/plain",
            body=text.encode(),
            created_at=created_at,
        )
        request = _from_tel(outbound.im_request(binding, message, domain=domain))
        try:
            response = await binding.link.request(request, within=within)
        except (ConnectionError, OSError):
            return False
        return response is not None and 200 <= response.status < 300

    return any(await asyncio.gather(*(ask(binding) for binding in bindings)))


def _from_tel(request: Request) -> Request:
    """``request`` with its From (SIP) or F (SIP-C) naming ``tel:+<digits>``: the phone."""
    headers: list[Header] = []
    for header in request.headers:
        name = header.name
        if name == "F":
            user = header.value.split(":", 1)[-1].split("@", 1)[0]
            headers.append(Header("F", f"tel:+{user}"))
        elif name == "From":
            user = header.value.split("sip:", 1)[-1].split("@", 1)[0]
            tag = header.value.split(";tag=", 1)[-1]
            headers.append(Header("From", f"<tel:+{user}>;tag={tag}"))
        else:
            headers.append(header)
    return Request(
        method=request.method,
        uri=request.uri,
        version=request.version,
        headers=tuple(headers),
        body=request.body,
    )
