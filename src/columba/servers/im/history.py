"""SIP-C ``S`` with ``N: GetHistoryV4``: a 1:1 conversation's history and each message's fate.

A Columba extension (Fetion served history over a separate HTTP application, fetion-sipc.md
§2.3 ``<http-applications>``); here it rides the same SIP-C connection as everything else, so
a client needs one protocol. It reads the store's one sync primitive, "everything after
sequence N" (``messages_after``):

```
S fetion.com.cn SIP-C/4.0
N: GetHistoryV4
<args><history uri="sip:700000002@columba.local" after-seq="0" limit="50"/></args>

SIP-C/4.0 200 OK
<results><history conversation-id="7" last-seq="12">
  <m id="<XI>" seq="11" from="700000001" date="2026-…Z" c="text/plain" state="delivered">hi</m>
  …
</history></results>
```

Without ``after-seq`` the newest ``limit`` messages come (default 50, at most 200). ``state``
is on the caller's own messages only: the other side's fate as the sender is shown it
(``pending``, ``delivered``, ``sent_as_sms``, ``sms_delivered``, ``failed``). A client polls
this request to refresh fates; message text is XML-escaped element content.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from columba.core.registry import Binding
from columba.protocol.errors import ParseError
from columba.protocol.sip.uri import parse_uri
from columba.protocol.sipc.bodies import element
from columba.servers.im.register import uri_identity
from columba.storage import Account

if TYPE_CHECKING:
    from columba.servers.im.server import ImServer

#: Messages per answer when the client asks for none, and the most it may ask for.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _int(node: ET.Element, name: str, default: int, *, low: int, high: int) -> int:
    raw = node.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParseError(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ParseError(f"{name} must be between {low} and {high}")
    return value


async def get_history(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``GetHistoryV4``: messages of the caller's conversation with one user, oldest first."""
    del binding
    node = args.find("history")
    if node is None or not node.get("uri"):
        raise ParseError("<history uri=...> required")
    identity = uri_identity(parse_uri(node.get("uri", ""), allow_bare=True))
    other = await server.account_for(identity) if identity else None
    if other is None:
        return 404, ""
    limit = _int(node, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    conversation = await server.store.pair_conversation(account.user_id, other.user_id)
    default_after = max(0, conversation.last_seq - limit)
    after = _int(node, "after-seq", default_after, low=0, high=2**62)
    messages = await server.store.messages_after(conversation.conversation_id, after, limit=limit)
    sids = {account.user_id: account.sid, other.user_id: other.sid}
    items = []
    for message in messages:
        attrs: dict[str, object] = {
            "id": message.message_id,
            "seq": message.seq,
            "from": sids.get(message.sender_id, ""),
            "date": message.created_at.isoformat().replace("+00:00", "Z"),
            "c": message.content_type,
        }
        if message.sender_id == account.user_id:
            statuses = await server.store.delivery_statuses(message.message_id)
            state = next((s.state for s in statuses if s.recipient_id == other.user_id), None)
            if state is not None:
                attrs["state"] = state.value
        text = escape(message.body.decode("utf-8", "replace"))
        items.append(element("m", attrs, text) if text else element("m", attrs))
    history = element(
        "history",
        {"conversation-id": conversation.conversation_id, "last-seq": conversation.last_seq},
        "".join(items),
    )
    return 200, element("results", None, history)
