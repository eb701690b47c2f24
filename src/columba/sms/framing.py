"""Framing SMPP PDUs on a TCP stream, sans-I/O.

Each PDU states its own length in its first four octets (SMPP 3.4 §3.2), so a stream is cut
by reading that length. A length under 16 or over the configured limit means the boundary is
lost: the framer raises :class:`~columba.sms.errors.FramingError` (now and on every later
call), and the bind must answer generic_nack and close. A PDU whose body is bad but whose
length is sound comes out as :class:`BadPdu`, and the stream goes on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from columba.sms.buffer import Buffer
from columba.sms.errors import FramingError, PduError
from columba.sms.pdu import HEADER_OCTETS, CommandStatus, Pdu, decode_body, pull_header

#: Room for a 64 KiB message_payload and the fields around it (SMPP 3.4 §5.3.2.32).
DEFAULT_MAX_COMMAND_LENGTH = 0x10000 + 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class BadPdu:
    """A PDU that could not be decoded; answer it with ``error.command_status``.

    Answer a request with its response (or generic_nack when its command_id is unknown, as
    ``error.command_status`` ESME_RINVCMDID says); never answer a response.
    """

    error: PduError
    data: bytes


_U32 = struct.Struct(">I").unpack_from
_HEADER = struct.Struct(">IIII").unpack_from


class PduFramer:
    """Splits a byte stream into PDUs."""

    def __init__(self, *, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        self._max = max_command_length
        self._buffer = bytearray()
        self._failed: FramingError | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet part of a whole PDU."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Pdu | BadPdu]:
        """Add received octets; return the PDUs they complete, in order.

        Raises:
            FramingError: the stream is out of step (also on every later call).
        """
        if self._failed is not None:
            raise self._failed
        buffer = self._buffer
        buffer += data
        out: list[Pdu | BadPdu] = []
        start = 0  # the PDUs taken are cut from the buffer once, at the end
        size = len(buffer)
        try:
            while size - start >= HEADER_OCTETS:
                length = _U32(buffer, start)[0]
                if not HEADER_OCTETS <= length <= self._max:
                    _, command_id, _, sequence_number = _HEADER(buffer, start)
                    self._failed = FramingError(
                        f"command_length {length} is outside {HEADER_OCTETS}-{self._max}",
                        command_status=CommandStatus.ESME_RINVCMDLEN,
                        command_id=command_id,
                        sequence_number=sequence_number,
                    )
                    raise self._failed
                if size - start < length:
                    break
                data = bytes(buffer[start : start + length])
                start += length
                body = Buffer(data)
                header = pull_header(body)
                try:
                    out.append(decode_body(header, body))
                except PduError as exc:
                    out.append(BadPdu(error=exc, data=data))
        finally:
            del buffer[:start]
        return out
