"""A byte buffer with symmetric ``pull_*``/``push_*`` operations (after aioquic's ``buffer.py``).

Every MCP structure is read and written through these few primitives, so the wire format's
integer and string rules live here once:

* **varint**: unsigned LEB128, 7 bits per byte, least significant group first, high bit set on
  every byte but the last (the protobuf "varint"); at most 10 bytes, values below 2**64.
* **zigzag**: a signed integer n travels as the varint ``2n`` (n ≥ 0) or ``-2n - 1`` (n < 0).
* **prefixed integer**: RFC 7541 §5.1, an N-bit prefix in a byte shared with flags; values
  that do not fit set all N bits and continue as a varint of the remainder.
* **string**: a varint byte length, then the bytes. Text is UTF-8 with ``surrogateescape`` (as
  the SIP parser decodes it), so a byte that is not UTF-8 survives the round trip.

Reading past the end, an overlong varint or an oversized length raises
:class:`~.errors.McpDecodeError`; nothing else escapes.
"""

from __future__ import annotations

from columba.protocol.mcp.errors import McpDecodeError, McpUsageError

MAX_VARINT = (1 << 64) - 1


class Buffer:
    """Bytes being read (``pull_*``) or written (``push_*``).

    A buffer made from ``data`` reads from its start; an empty buffer collects writes, and
    :attr:`data` returns them.
    """

    __slots__ = ("_data", "_out", "_pos")

    def __init__(self, data: bytes = b"") -> None:
        self._data = data
        self._pos = 0
        self._out = bytearray()

    # -- reading ----------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The read position."""
        return self._pos

    @property
    def remaining(self) -> int:
        """Bytes left to read."""
        return len(self._data) - self._pos

    def eof(self) -> bool:
        """True when every byte has been read."""
        return self._pos >= len(self._data)

    def window(self) -> tuple[bytes, int]:
        """The bytes being read and the read position, for a hot loop that reads them itself
        and then calls :meth:`seek`."""
        return self._data, self._pos

    def seek(self, position: int) -> None:
        """Continue reading at ``position`` (one :meth:`window` returned or a later one).

        Raises:
            McpUsageError: a position outside the data.
        """
        if not 0 <= position <= len(self._data):
            raise McpUsageError(f"read position {position} outside the buffer")
        self._pos = position

    def pull_uint8(self) -> int:
        """One byte."""
        pos = self._pos
        if pos >= len(self._data):
            raise McpDecodeError("MCP data ends in the middle of a field")
        self._pos = pos + 1
        return self._data[pos]

    def peek_uint8(self) -> int:
        """The next byte, without consuming it."""
        if self._pos >= len(self._data):
            raise McpDecodeError("MCP data ends in the middle of a field")
        return self._data[self._pos]

    def pull_bytes(self, length: int) -> bytes:
        """``length`` raw bytes."""
        pos = self._pos
        end = pos + length
        if length < 0 or end > len(self._data):
            raise McpDecodeError("MCP data ends in the middle of a field")
        self._pos = end
        return self._data[pos:end]

    def pull_varint(self) -> int:
        """An unsigned LEB128 integer below 2**64."""
        data = self._data
        pos = self._pos
        result = 0
        shift = 0
        while True:
            if pos >= len(data):
                raise McpDecodeError("MCP data ends in the middle of an integer")
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift >= 70:
                raise McpDecodeError("MCP integer longer than 10 bytes")
        if result > MAX_VARINT:
            raise McpDecodeError("MCP integer above 2**64")
        self._pos = pos
        return result

    def pull_zigzag(self) -> int:
        """A signed integer in zigzag form."""
        value = self.pull_varint()
        return (value >> 1) ^ -(value & 1)

    def pull_prefixed(self, first: int, bits: int) -> int:
        """The integer whose ``bits``-bit prefix is in ``first`` (already read), RFC 7541 §5.1."""
        mask = (1 << bits) - 1
        value = first & mask
        if value < mask:
            return value
        return mask + self.pull_varint()

    def pull_string(self) -> str:
        """A varint length and that many bytes of UTF-8 (``surrogateescape``)."""
        return self.pull_bytes(self.pull_varint()).decode("utf-8", "surrogateescape")

    # -- writing ----------------------------------------------------------------------------------

    @property
    def data(self) -> bytes:
        """The bytes written so far."""
        return bytes(self._out)

    @property
    def output(self) -> bytearray:
        """The bytes written so far, to append to in place (for the hot loops of text items)."""
        return self._out

    def push_uint8(self, value: int) -> None:
        """One byte (0–255)."""
        self._out.append(value)

    def push_bytes(self, value: bytes) -> None:
        """Raw bytes."""
        self._out += value

    def push_varint(self, value: int) -> None:
        """An unsigned LEB128 integer below 2**64."""
        if value < 0x80:
            if value < 0:
                raise McpUsageError("a varint cannot be negative")
            self._out.append(value)
            return
        if value > MAX_VARINT:
            raise McpUsageError("a varint must be below 2**64")
        out = self._out
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)

    def push_zigzag(self, value: int) -> None:
        """A signed integer in zigzag form."""
        self.push_varint(value << 1 if value >= 0 else (-value << 1) - 1)

    def push_prefixed(self, flags: int, bits: int, value: int) -> None:
        """``value`` in a ``bits``-bit prefix after ``flags`` (the byte's other bits)."""
        mask = (1 << bits) - 1
        if value < mask:
            self._out.append(flags | value)
        else:
            self._out.append(flags | mask)
            self.push_varint(value - mask)

    def push_string(self, value: str) -> None:
        """A varint length and the UTF-8 (``surrogateescape``) bytes of ``value``."""
        raw = encode_text(value)
        self.push_varint(len(raw))
        self._out += raw


def encode_text(value: str) -> bytes:
    """The wire bytes of a decoded string (UTF-8, ``surrogateescape``).

    Raises:
        McpUsageError: the string holds a lone surrogate no wire byte could have produced.
    """
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise McpUsageError("text holds a character no wire byte can carry") from None


def varint(value: int) -> bytes:
    """The bytes :meth:`Buffer.push_varint` writes for ``value`` (0 ≤ value < 2**64)."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_size(value: int) -> int:
    """How many bytes :meth:`Buffer.push_varint` writes for ``value``."""
    return max(1, (value.bit_length() + 6) // 7)
