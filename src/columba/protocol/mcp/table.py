"""The dynamic table of a stateful MCP connection (after HPACK, RFC 7541 §2.3.2 and §4).

Each direction of a connection has one table; the sender's encoder and the receiver's decoder
apply the same insertions in the same order, so the two copies stay in lock-step without
acknowledgements (MCP runs over ordered transports only: TCP, TLS, WebSocket).

An entry is a whole header field: name, separator and value exactly as spelled. Its size is
the UTF-8 length of the three plus 32 (RFC 7541 §4.1). Entries are addressed relative to the
newest (index 0); inserting beyond the negotiated capacity evicts the oldest entries, and an
entry larger than the whole capacity empties the table and is not inserted (§4.4). There is
no substring matching: a field is either equal to an entry or sent again.
"""

from __future__ import annotations

from collections import deque

from columba.protocol.mcp.buffer import encode_text
from columba.protocol.mcp.errors import McpDecodeError

#: Bytes an entry costs beyond its text (RFC 7541 §4.1).
ENTRY_OVERHEAD = 32

Field = tuple[str, str, str]


def entry_size(name: str, sep: str, value: str) -> int:
    """The size an entry counts against the table's capacity."""
    return len(encode_text(name)) + len(encode_text(sep)) + len(encode_text(value)) + ENTRY_OVERHEAD


class DynamicTable:
    """A bounded FIFO of whole header fields, newest first.

    Args:
        capacity: The negotiated maximum size in bytes (0 disables the table).
    """

    __slots__ = ("_entries", "_fields", "_inserted", "_names", "capacity", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        #: Oldest first; each item is ``(absolute index, field, size)``.
        self._entries: deque[tuple[int, Field, int]] = deque()
        self._inserted = 0
        #: The encoder's look-ups: the newest absolute index of each field and of each name.
        self._fields: dict[Field, int] = {}
        self._names: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def inserted(self) -> int:
        """How many entries were ever inserted (the next absolute index)."""
        return self._inserted

    def insert(self, name: str, sep: str, value: str) -> None:
        """Add a field as the newest entry, evicting the oldest ones as needed."""
        size = entry_size(name, sep, value)
        if size > self.capacity:
            while self._entries:
                self._evict()
            return
        while self.size + size > self.capacity:
            self._evict()
        absolute = self._inserted
        field = (name, sep, value)
        self._entries.append((absolute, field, size))
        self.size += size
        self._inserted += 1
        self._fields[field] = absolute
        self._names[name] = absolute

    def _evict(self) -> None:
        absolute, field, size = self._entries.popleft()
        self.size -= size
        if self._fields.get(field) == absolute:
            del self._fields[field]
        if self._names.get(field[0]) == absolute:
            del self._names[field[0]]

    def get(self, index: int) -> Field:
        """The entry ``index`` places from the newest.

        Raises:
            McpDecodeError: no such entry.
        """
        if not 0 <= index < len(self._entries):
            raise McpDecodeError(f"MCP dynamic table has no entry {index}")
        return self._entries[len(self._entries) - 1 - index][1]

    def find(self, name: str, sep: str, value: str) -> int | None:
        """The relative index of an entry equal to this field, or ``None``."""
        absolute = self._fields.get((name, sep, value))
        return None if absolute is None else self._inserted - 1 - absolute

    def find_name(self, name: str) -> int | None:
        """The relative index of the newest entry with this name, or ``None``."""
        absolute = self._names.get(name)
        return None if absolute is None else self._inserted - 1 - absolute
