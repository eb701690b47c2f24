"""A byte buffer with symmetric ``pull_*``/``push_*`` methods for SMPP's field types.

SMPP 3.4 §3.1 has three: big-endian unsigned integers of 1, 2 and 4 octets, C-octet strings
(ASCII-ish text ended by a NUL, with a maximum size that counts the NUL) and octet strings
whose length comes from another field. Reads past the end, and C-strings without their NUL
or over their size, raise :class:`BufferReadError`, which the PDU codec turns into a
:class:`~columba.sms.errors.PduError` with the header's context.
"""

from __future__ import annotations

import struct

from columba.sms.codes import CommandStatus
from columba.sms.errors import SmsUsageError

_ESME_RINVCMDLEN = CommandStatus.ESME_RINVCMDLEN


class BufferReadError(Exception):
    """A read ran past the data or met a malformed field (internal to the codec).

    Attributes:
        reason: What was wrong.
        command_status: The SMPP status the peer should be answered with.
    """

    def __init__(self, reason: str, command_status: int = _ESME_RINVCMDLEN) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_status = command_status


_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_U32X4 = struct.Struct(">IIII").unpack_from


class Buffer:
    """Reads from, or writes to, one PDU's octets.

    A buffer made from octets reads them in place (each field read makes one copy of its
    own octets); an empty one is written to.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes = b"") -> None:
        self._data: bytes | bytearray = bytes(data) if data else bytearray()
        self._pos = 0

    @property
    def data(self) -> bytes:
        """Everything written so far (or the whole input)."""
        return bytes(self._data)

    def eof(self) -> bool:
        """Whether every octet has been read."""
        return self._pos >= len(self._data)

    def remaining(self) -> int:
        """Octets not yet read."""
        return len(self._data) - self._pos

    # -- reading ---------------------------------------------------------------------------

    def _short(self, length: int) -> BufferReadError:
        return BufferReadError(f"{length} octets wanted, {self.remaining()} left")

    def pull_bytes(self, length: int) -> bytes:
        """Read ``length`` octets."""
        pos = self._pos
        end = pos + length
        if length < 0 or end > len(self._data):
            raise self._short(length)
        self._pos = end
        return bytes(self._data[pos:end])

    def pull_uint8(self) -> int:
        """Read a one-octet integer."""
        pos = self._pos
        if pos >= len(self._data):
            raise self._short(1)
        self._pos = pos + 1
        return self._data[pos]

    def pull_uint8s(self, count: int) -> tuple[int, ...]:
        """Read ``count`` one-octet integers."""
        pos = self._pos
        end = pos + count
        if end > len(self._data):
            raise self._short(count)
        self._pos = end
        return tuple(self._data[pos:end])

    def pull_uint16(self) -> int:
        """Read a two-octet big-endian integer."""
        pos = self._pos
        if pos + 2 > len(self._data):
            raise self._short(2)
        self._pos = pos + 2
        value: int = _U16(self._data, pos)[0]
        return value

    def pull_uint32(self) -> int:
        """Read a four-octet big-endian integer."""
        pos = self._pos
        if pos + 4 > len(self._data):
            raise self._short(4)
        self._pos = pos + 4
        value: int = _U32(self._data, pos)[0]
        return value

    def pull_uint32x4(self) -> tuple[int, int, int, int]:
        """Read four four-octet big-endian integers (a PDU header)."""
        pos = self._pos
        if pos + 16 > len(self._data):
            raise self._short(16)
        self._pos = pos + 16
        values: tuple[int, int, int, int] = _U32X4(self._data, pos)
        return values

    def pull_cstring(self, size: int, command_status: int = _ESME_RINVCMDLEN) -> str:
        """Read a C-octet string of at most ``size`` octets, its NUL included.

        Args:
            size: The field's maximum size in SMPP 3.4 §4, NUL included.
            command_status: The status that a missing NUL or an overlong value costs.
        """
        end = self._data.find(0, self._pos, self._pos + size)
        if end < 0:
            if self.remaining() < size:  # the PDU ends before the field could
                raise BufferReadError("C-octet string runs past the PDU")
            raise BufferReadError(f"C-octet string longer than {size - 1}", command_status)
        value = self._data[self._pos : end].decode("latin-1")
        self._pos = end + 1
        return value

    # -- writing ---------------------------------------------------------------------------

    def push_bytes(self, value: bytes) -> None:
        """Append octets."""
        self._data += value

    def push_uint8(self, value: int) -> None:
        """Append a one-octet integer."""
        self._data += _uint(value, 1)

    def push_uint8s(self, *values: int) -> None:
        """Append one-octet integers."""
        try:
            self._data += bytes(values)
        except ValueError:
            raise SmsUsageError(f"one of {values} does not fit 1 octet(s)") from None

    def push_uint16(self, value: int) -> None:
        """Append a two-octet big-endian integer."""
        self._data += _uint(value, 2)

    def push_uint32(self, value: int) -> None:
        """Append a four-octet big-endian integer."""
        self._data += _uint(value, 4)

    def push_cstring(self, value: str, size: int, *, name: str = "C-octet string") -> None:
        """Append ``value`` and its NUL; the two must fit ``size`` octets.

        Raises:
            SmsUsageError: too long, or holds a NUL or a character above U+00FF.
        """
        try:
            encoded = value.encode("latin-1")
        except UnicodeEncodeError:
            raise SmsUsageError(f"{name} {value!r} is not Latin-1 text") from None
        if 0 in encoded:
            raise SmsUsageError(f"{name} {value!r} holds a NUL")
        if len(encoded) + 1 > size:
            raise SmsUsageError(f"{name} {value!r} is longer than {size - 1}")
        self._data += encoded + b"\x00"

    def patch_uint32(self, offset: int, value: int) -> None:
        """Overwrite four octets at ``offset`` (the command_length, once the body is known)."""
        data = self._data
        if not isinstance(data, bytearray):
            raise TypeError("a buffer read from octets is not written to")
        data[offset : offset + 4] = _uint(value, 4)


def _uint(value: int, size: int) -> bytes:
    try:
        return value.to_bytes(size, "big")
    except OverflowError:
        raise SmsUsageError(f"{value} does not fit {size} octet(s)") from None
