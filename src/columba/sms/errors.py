"""Errors raised by Columba's SMS protocol code (encodings, segmentation, receipts, SMPP PDUs).

The tree, under the protocol package's root::

    ProtocolError (columba.protocol.errors)
    └── SmsError                  base of everything ``columba.sms`` raises
        ├── SmsPeerError          the peer broke it: carries the SMPP command_status to answer
        │   ├── PduError          a PDU we cannot decode; the stream is still in step
        │   │   └── FramingError  the stream lost its PDU boundary: nack and close the bind
        │   └── UserDataError     short_message content we cannot read (UDH, septets, UCS-2)
        └── SmsUsageError         we misused it (also a LocalProtocolError): a field too long,
                                  text the chosen alphabet cannot carry, a reference out of range

Following h11's ``error_status_hint``, a peer error names the ``command_status`` to put in the
response (or ``generic_nack``). No ``KeyError``, ``struct.error`` or ``UnicodeError`` crosses
the package line: the codec entry points turn them into these classes.
"""

from __future__ import annotations

from columba.protocol.errors import LocalProtocolError, ProtocolError
from columba.sms.codes import CommandStatus

_ESME_RINVMSGLEN = CommandStatus.ESME_RINVMSGLEN
_ESME_RSYSERR = CommandStatus.ESME_RSYSERR


class SmsError(ProtocolError):
    """Base class of every error raised by ``columba.sms``."""


class SmsPeerError(SmsError):
    """The peer sent something we cannot accept.

    Attributes:
        reason: A short human-readable reason, safe to log.
        command_status: The SMPP ``command_status`` to answer with (SMPP 3.4 §5.1.3).
    """

    def __init__(self, reason: str, *, command_status: int = _ESME_RSYSERR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_status = command_status


class PduError(SmsPeerError):
    """A PDU that cannot be decoded; the stream is still in step after it.

    Attributes:
        command_id: The header's command_id (0 when the header itself was unreadable).
        sequence_number: The header's sequence_number, to echo in the response.
    """

    def __init__(
        self,
        reason: str,
        *,
        command_status: int = _ESME_RSYSERR,
        command_id: int = 0,
        sequence_number: int = 0,
    ) -> None:
        super().__init__(reason, command_status=command_status)
        self.command_id = command_id
        self.sequence_number = sequence_number


class FramingError(PduError):
    """The PDU boundary is lost (an impossible ``command_length``): the bind must be closed."""


class UserDataError(SmsPeerError):
    """The message content (UDH, septets, UCS-2 octets) cannot be read."""

    def __init__(self, reason: str, *, command_status: int = _ESME_RINVMSGLEN) -> None:
        super().__init__(reason, command_status=command_status)


class SmsUsageError(SmsError, LocalProtocolError):
    """We asked for something the protocol cannot express (a bug on our side)."""
