"""References: strings already sent, named again by a one-item back-reference (MCP 2).

SIP repeats itself inside one message and across a dialog: the host of the Request-URI comes
back in From, To, Route and the digest ``realm``; a tag, a branch or a Call-ID comes back in
the response and in the next request. MCP 2 keeps a list of the *runs* it has sent and lets a
later item name one by its position (``Op.REF``), instead of LZ-style matching at any offset:

* a **run** is a maximal stretch of URI-unreserved characters (``A-Z a-z 0-9 - . _ ~``,
  RFC 3986 §2.3) of 4 to 256 bytes inside a literal item, or the whole rendering (4–256
  bytes) of an integer, hex, base64, IPv4, IPv6 or UUID item;
* each run is appended when its item is sent or read, unless the list holds it already; the
  list keeps the newest :data:`REF_CAPACITY` runs, and ``Op.REF`` *i* names the *i*-th newest;
* the list lives for one message (stateless) or for one direction of a connection (stateful);
* values of sensitive fields (``fields.is_sensitive``) add no runs, and the runs a body adds
  are forgotten at its end (a body adds to a copy of the list). A secret may still be cut at a
  run another field sent, but only at a *whole* run: the size of a message then tells whoever
  chose that field whether a whole run of the secret equals one they guessed, never that a
  prefix matched, so the byte-by-byte progress a CRIME-style attack needs is not there. The
  same holds for a body, whose runs no later message can see.

Both ends apply the same rule to the same items, so the lists stay equal without any
signalling; ``docs/protocol/mcp.md`` §5.2 is the byte-level reference.
"""

from __future__ import annotations

import re

from columba.protocol.mcp.errors import McpDecodeError

#: Runs the list keeps; an index below it always fits one varint byte.
REF_CAPACITY = 128
MIN_RUN = 4
MAX_RUN = 256
#: A run: a maximal stretch of unreserved characters of MIN_RUN to MAX_RUN bytes (the
#: look-arounds make it maximal; a longer or shorter stretch holds none).
_UNRESERVED = rb"[-.0-9A-Z_a-z~]"
_RUN = re.compile(
    rb"(?<!%b)%b{%d,%d}(?!%b)" % (_UNRESERVED, _UNRESERVED, MIN_RUN, MAX_RUN, _UNRESERVED)
)


class Refs:
    """The runs one message, or one direction of a connection, has sent (newest last)."""

    __slots__ = ("_base", "_index", "_runs")

    def __init__(self) -> None:
        self._runs: list[bytes] = []
        self._index: dict[bytes, int] = {}  # run → its absolute position
        self._base = 0  # absolute position of self._runs[0]

    def __len__(self) -> int:
        return len(self._runs)

    def copy(self) -> Refs:
        """An independent list with the same runs (a body adds its runs to a copy)."""
        twin = Refs()
        twin._runs = self._runs.copy()
        twin._index = self._index.copy()
        twin._base = self._base
        return twin

    def runs(self) -> tuple[bytes, ...]:
        """The runs, oldest first."""
        return tuple(self._runs)

    def find(self, run: bytes) -> int | None:
        """The reference index of ``run`` (0 = newest), or ``None``."""
        position = self._index.get(run)
        if position is None:
            return None
        return self._base + len(self._runs) - 1 - position

    def get(self, index: int) -> bytes:
        """The run at reference index ``index``.

        Raises:
            McpDecodeError: no such run.
        """
        if index >= len(self._runs):
            raise McpDecodeError(f"MCP reference {index} names no run ({len(self._runs)} known)")
        return self._runs[len(self._runs) - 1 - index]

    def add(self, run: bytes) -> None:
        """Append ``run`` if it is a run's length and new; the oldest leaves when full."""
        if not MIN_RUN <= len(run) <= MAX_RUN or run in self._index:
            return
        self._index[run] = self._base + len(self._runs)
        self._runs.append(run)
        if len(self._runs) > REF_CAPACITY:
            del self._index[self._runs.pop(0)]
            self._base += 1

    def add_literal(self, raw: bytes) -> None:
        """Append the runs of a literal item, in order."""
        for run in _RUN.findall(raw):
            self.add(run)


def literal_cuts(raw: bytes, refs: Refs, *, record: bool) -> list[tuple[bytes, int]]:
    """Cut a literal run of bytes at the runs ``refs`` knows.

    Returns pieces in order: ``(literal bytes, -1)`` or ``(b"", reference index)``. With
    ``record``, a run ``refs`` does not know is added (as the decoder will when it reads the
    literal piece).
    Cuts fall only at run boundaries, so every literal piece holds the same runs as the
    whole did, and the decoder, adding the runs of each piece, ends with the same list.
    """
    pieces: list[tuple[bytes, int]] = []
    start = 0
    for m in _RUN.finditer(raw):
        run = m.group()
        index = refs.find(run)
        if index is None:
            if record:
                refs.add(run)
            continue
        if m.start() > start:
            pieces.append((raw[start : m.start()], -1))
        pieces.append((b"", index))
        start = m.end()
    if start < len(raw) or not pieces:
        pieces.append((raw[start:], -1))
    return pieces
