"""The built-in SMSC simulator role: an SMPP 3.4 server with virtual handsets.

``columba serve`` runs it by default, so that the SMS leg works end to end on one machine;
``python -m columba.smsc`` runs it alone, and ``columba phone NUMBER`` is a virtual phone's
terminal over its control channel.

Modules::

    handsets    Handset (a number and its inbox), HandsetBook (reassembly of MT parts)
    simulator   SmscSimulator: bind authentication, submit_sm → inbox + receipt, MO out
    control     the line-based control channel (SEND, WATCH, INBOX, REACH …)
"""

from __future__ import annotations

from columba.smsc.handsets import Handset, HandsetBook, InboxMessage
from columba.smsc.simulator import Account, Outgoing, SmscConfig, SmscSimulator

#: The control channel listens on the SMPP port plus this, unless told otherwise.
CONTROL_PORT_OFFSET = 1

__all__ = [
    "CONTROL_PORT_OFFSET",
    "Account",
    "Handset",
    "HandsetBook",
    "InboxMessage",
    "Outgoing",
    "SmscConfig",
    "SmscSimulator",
]
