"""An asyncio client for Columba: SIP-C over TCP, SIP over UDP/TCP. Used by ``columba chat``,
the examples and the end-to-end tests.

    client = await SipcClient.connect("127.0.0.1", 8080)
    await client.login("700000001", "secret-password")
    await client.send_message("700000002", "hello")
    message = await client.next_message()
"""

from __future__ import annotations

from columba.client.base import ClientError, IncomingMessage, PresenceUpdate
from columba.client.sip import SipClient
from columba.client.sipc import SipcClient

__all__ = ["ClientError", "IncomingMessage", "PresenceUpdate", "SipClient", "SipcClient"]
