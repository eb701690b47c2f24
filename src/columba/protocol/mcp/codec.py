"""Encode a SIP or SIP-C message as MCP and decode it back, byte for byte.

One message is::

    head       1 byte   response bit, LF bit, unterminated bit, version code, body kind
    version    string   only for version code 0
    start      request: method code (varint; 0 → string) and Request-URI (text items)
               response: status (varint) and reason code (varint; 0 → text items)
    count      varint   number of header fields
    fields     each a representation after RFC 7541 (indexed / literal with or without
               insertion), a name code, the separator when it is not ": ", and the value in
               its typed codec or as text items
    body       by kind: nothing, raw (varint length + bytes), text items or XML items

Text items may name a run of text sent before in the message (stateless) or on the connection
(stateful) by a one-item reference (MCP 2, :mod:`.refs`); secrets add no runs.

Content-Length (SIP-C ``L``) is never sent when it equals the body length: the decoder writes
it. The decoder accepts only a message whose text form parses back to the same message, so a
gateway that turns MCP into SIP-C text can never be made to emit a header line (or a body)
that a text peer would read differently: MCP carries exactly what the text parser produces.
``docs/protocol/mcp.md`` is the byte-level reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from columba.protocol.mcp.body import decode_body, encode_body
from columba.protocol.mcp.buffer import Buffer
from columba.protocol.mcp.check import carried_form, read_back
from columba.protocol.mcp.errors import (
    McpDecodeError,
    McpLimitExceeded,
    McpUsageError,
)
from columba.protocol.mcp.fields import (
    METHOD_INDEX,
    header_facts,
    pull_typed,
    typed_payload,
)
from columba.protocol.mcp.refs import Refs
from columba.protocol.mcp.scanner import push_text
from columba.protocol.mcp.table import DynamicTable
from columba.protocol.mcp.tables import (
    DEFAULT_REASONS,
    HEADER_NAMES,
    METHODS,
    REASONS,
    VERSIONS,
    BodyKind,
    Codec,
    ExtFlag,
    Head,
    HeaderForm,
    Reason,
)
from columba.protocol.mcp.text import (
    Budget,
    Dictionary,
    dictionary,
    pull_text,
)
from columba.protocol.sip.message import Header, Message, Request, Response
from columba.protocol.sip.parser import ParseLimits

# Plain-int copies of the wire codes this module uses in its loops: reading an IntEnum
# member costs an enum attribute look-up every time (about 170 ns on CPython 3.11).
_MAX_BODY_KIND = int(max(BodyKind))
_CODEC_CSEQ = int(Codec.CSEQ)
_CODEC_DATE = int(Codec.DATE)
_CODEC_LENGTH = int(Codec.LENGTH)
_CODEC_TEXT = int(Codec.TEXT)
_EXTFLAG_LITERAL_SEP = int(ExtFlag.LITERAL_SEP)
_EXTFLAG_NAME_DYNAMIC = int(ExtFlag.NAME_DYNAMIC)
_EXTFLAG_NAME_LITERAL = int(ExtFlag.NAME_LITERAL)
_EXTFLAG_NAME_MASK = int(ExtFlag.NAME_MASK)
_EXTFLAG_NAME_STATIC = int(ExtFlag.NAME_STATIC)
_EXTFLAG_RESERVED = int(ExtFlag.RESERVED)
_EXTFLAG_TEXT_VALUE = int(ExtFlag.TEXT_VALUE)
_HEADERFORM_INDEXED = int(HeaderForm.INDEXED)
_HEADERFORM_LITERAL = int(HeaderForm.LITERAL)
_HEADERFORM_LITERAL_INDEXED = int(HeaderForm.LITERAL_INDEXED)
_HEAD_BODY_MASK = int(Head.BODY_MASK)
_HEAD_LF = int(Head.LF)
_HEAD_RESPONSE = int(Head.RESPONSE)
_HEAD_UNTERMINATED = int(Head.UNTERMINATED)
_HEAD_VERSION_MASK = int(Head.VERSION_MASK)
_HEAD_VERSION_SHIFT = int(Head.VERSION_SHIFT)
_REASON_DEFAULT = int(Reason.DEFAULT)
_REASON_LITERAL = int(Reason.LITERAL)
_REASON_TABLE = int(Reason.TABLE)

DEFAULT_SEP = ": "
NAME_INDEX = {name: index for index, name in enumerate(HEADER_NAMES) if index}
VERSION_INDEX = {version: index for index, version in enumerate(VERSIONS) if index}
REASON_INDEX = {reason: index for index, reason in enumerate(REASONS)}
#: Fields the encoder does not insert: their values change with every message, so an entry
#: would only push out one that could be used again.
UNIQUE_CODECS = frozenset({_CODEC_LENGTH, _CODEC_CSEQ, _CODEC_DATE})
UNIQUE_HEADERS = frozenset({"x-message-id"})
#: Largest status code a message may carry (the text grammar allows three digits).
MAX_STATUS = 999


@dataclass(frozen=True, slots=True, kw_only=True)
class McpOptions:
    """What both ends of MCP must agree on besides the fixed tables.

    Attributes:
        domains: The deployment's SIP domains, appended to the built-in domain table (at most
            12). A connection learns them from the server's handshake answer.
    """

    domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class McpLimits:
    """Limits on what a peer may make us decode; breaking one raises ``McpLimitExceeded``.

    Attributes:
        max_message_bytes: The decoded text form of one message (start line, headers, body).
        max_fields: Header fields in one message.
        max_frame_bytes: One MCP frame on the wire (TCP length prefix or WebSocket message).
        max_table_size: The largest dynamic table a peer may make us keep.
    """

    max_message_bytes: int = 272 * 1024
    max_fields: int = 128
    max_frame_bytes: int = 272 * 1024
    max_table_size: int = 64 * 1024

    def parse_limits(self) -> ParseLimits:
        """The text parser's limits that match these."""
        return ParseLimits(
            max_header_bytes=self.max_message_bytes,
            max_headers=self.max_fields,
            max_body_bytes=self.max_message_bytes,
        )


DEFAULT_OPTIONS = McpOptions()
DEFAULT_LIMITS = McpLimits()


class Encoder:
    """Encodes messages for one direction of a connection (or alone, when stateless).

    Args:
        options: Shared configuration (the domain table).
        table_size: The dynamic table's capacity; 0 encodes every message on its own.
        limits: The limits the receiving side applies (a message beyond them is refused here).
    """

    def __init__(
        self,
        options: McpOptions = DEFAULT_OPTIONS,
        *,
        table_size: int = 0,
        limits: McpLimits = DEFAULT_LIMITS,
    ) -> None:
        self._words = dictionary(options.domains)
        self._table = DynamicTable(table_size)
        self._stateful = table_size > 0
        self._refs = Refs()
        self._limits = limits
        self._broken = False

    @property
    def table(self) -> DynamicTable:
        """The dynamic table (empty when stateless)."""
        return self._table

    @property
    def refs(self) -> Refs:
        """The reference list kept between messages (empty when stateless)."""
        return self._refs

    def encode(self, message: Message) -> bytes:
        """The MCP bytes of ``message``.

        Raises:
            McpUsageError: the message is not one the text parser could have produced
                (so no peer could decode it), or an earlier failure left the table unusable.
        """
        if self._broken:
            raise McpUsageError("the encoder failed earlier; its dynamic table is unusable")
        message = carried_form(message, self._limits.parse_limits())
        try:
            return self._encode(message)
        except BaseException:
            self._broken = self._stateful
            raise

    def _encode(self, message: Message) -> bytes:
        buf = Buffer()
        words = self._words
        refs = self._refs if self._stateful else Refs()
        body = message.body
        version_code = VERSION_INDEX.get(message.version, 0)
        head = version_code << _HEAD_VERSION_SHIFT
        if isinstance(message, Response):
            head |= _HEAD_RESPONSE
        if message.eol == "\n":
            head |= _HEAD_LF
        if not message.is_terminated:
            head |= _HEAD_UNTERMINATED
        if not version_code:
            buf.push_string(message.version)
        if isinstance(message, Request):
            method = METHOD_INDEX.get(message.method, 0)
            buf.push_varint(method)
            if not method:
                buf.push_string(message.method)
            push_text(buf, message.uri, words, refs)
        else:
            _push_status(buf, message.status, message.reason, words, refs)
        buf.push_varint(len(message.headers))
        sipc = message.is_sipc
        for header in message.headers:
            self._push_header(buf, header, sipc, len(body), refs)
        # The body comes last on the wire and may refer to the runs the fields added.
        kind, body_bytes = encode_body(body, words, refs.copy() if self._stateful else refs)
        return bytes((head | kind,)) + buf.data + body_bytes

    def _push_header(
        self, buf: Buffer, header: Header, sipc: bool, body_length: int, refs: Refs
    ) -> None:
        name, value, sep = header
        key, codec, sensitive = header_facts(name, sipc)
        table = self._table
        indexable = self._stateful and not sensitive
        if indexable:
            found = table.find(name, sep, value)
            if found is not None:
                buf.push_prefixed(_HEADERFORM_INDEXED, 7, found)
                return
        payload = typed_payload(codec, value, body_length)
        insert = indexable and codec not in UNIQUE_CODECS and key not in UNIQUE_HEADERS
        form = _HEADERFORM_LITERAL_INDEXED if insert else _HEADERFORM_LITERAL
        static = NAME_INDEX.get(name)
        as_text = payload is None and codec != _CODEC_TEXT
        if static is not None and sep == DEFAULT_SEP and not as_text:
            buf.push_prefixed(form, 6, static)
        else:
            buf.push_uint8(form)
            dynamic = None if static is not None or not self._stateful else table.find_name(name)
            flags: int = (
                _EXTFLAG_NAME_STATIC
                if static is not None
                else _EXTFLAG_NAME_DYNAMIC
                if dynamic is not None
                else _EXTFLAG_NAME_LITERAL
            )
            if sep != DEFAULT_SEP:
                flags |= _EXTFLAG_LITERAL_SEP
            if as_text:
                flags |= _EXTFLAG_TEXT_VALUE
            buf.push_uint8(flags)
            if static is not None:
                buf.push_varint(static)
            elif dynamic is not None:
                buf.push_varint(dynamic)
            else:
                buf.push_string(name)
            if sep != DEFAULT_SEP:
                buf.push_string(sep)
        if payload is None:
            push_text(buf, value, self._words, refs, record=not sensitive)
        else:
            buf.push_bytes(payload)
        if insert:
            table.insert(name, sep, value)


class Decoder:
    """Decodes the messages of one direction of a connection (or alone, when stateless).

    Args:
        options: Shared configuration (the domain table).
        table_size: The dynamic table's capacity; 0 refuses table references.
        limits: Limits on decoded size and field count.
    """

    def __init__(
        self,
        options: McpOptions = DEFAULT_OPTIONS,
        *,
        table_size: int = 0,
        limits: McpLimits = DEFAULT_LIMITS,
    ) -> None:
        self._words = dictionary(options.domains)
        self._table = DynamicTable(table_size)
        self._stateful = table_size > 0
        self._refs = Refs()
        self._limits = limits
        self._parse_limits = limits.parse_limits()
        self._failed: McpDecodeError | None = None

    @property
    def table(self) -> DynamicTable:
        """The dynamic table (empty when stateless)."""
        return self._table

    @property
    def refs(self) -> Refs:
        """The reference list kept between messages (empty when stateless)."""
        return self._refs

    def decode(self, data: bytes) -> Message:
        """The message MCP bytes encode.

        Raises:
            McpDecodeError: malformed MCP, a limit broken, or a message the text parser would
                read differently. A stateful decoder is unusable afterwards (and says so again
                on every later call): the peer's table and ours may differ.
        """
        if self._failed is not None:
            raise self._failed
        if len(data) > self._limits.max_frame_bytes:
            raise McpLimitExceeded("MCP message larger than the frame limit", status=513)
        try:
            return self._decode(Buffer(data))
        except McpDecodeError as exc:
            if self._stateful:
                self._failed = exc
            raise
        except (ValueError, OverflowError, IndexError) as exc:  # a bug must not cross the line
            error = McpDecodeError(f"malformed MCP message ({type(exc).__name__})")
            if self._stateful:
                self._failed = error
            raise error from None

    def _decode(self, buf: Buffer) -> Message:
        words = self._words
        refs = self._refs if self._stateful else Refs()
        budget = Budget(self._limits.max_message_bytes)
        head = buf.pull_uint8()
        kind = head & _HEAD_BODY_MASK
        if kind > _MAX_BODY_KIND:
            raise McpDecodeError(f"unknown MCP body kind {kind}")
        version_code = (head & _HEAD_VERSION_MASK) >> _HEAD_VERSION_SHIFT
        version = VERSIONS[version_code] if version_code else buf.pull_string()
        budget.spend(len(version))
        method = uri = reason = ""
        status = 0
        is_response = bool(head & _HEAD_RESPONSE)
        if is_response:
            status, reason = _pull_status(buf, words, budget, refs)
        else:
            code = buf.pull_varint()
            if code >= len(METHODS):
                raise McpDecodeError(f"MCP method {code} is not in the method table")
            method = METHODS[code] if code else buf.pull_string()
            uri = pull_text(buf, words, budget, refs=refs)
            budget.spend(len(method))
        sipc = version[:5].upper() == "SIP-C"
        count = buf.pull_varint()
        if count > self._limits.max_fields:
            raise McpLimitExceeded(f"more than {self._limits.max_fields} MCP header fields")
        headers: list[Header] = []
        lengths: list[int] = []
        for position in range(count):
            header, is_length = self._pull_header(buf, sipc, budget, refs)
            if is_length:
                lengths.append(position)
            headers.append(header)
        body = decode_body(buf, kind, words, budget, refs.copy() if self._stateful else refs)
        if not buf.eof():
            raise McpDecodeError("trailing bytes after an MCP message")
        for position in lengths:
            name, _, sep = headers[position]
            headers[position] = Header(name, str(len(body)), sep)
        eol = "\n" if head & _HEAD_LF else "\r\n"
        terminated = not head & _HEAD_UNTERMINATED
        start: tuple[int, str] | tuple[str, str] = (
            (status, reason) if is_response else (method, uri)
        )
        return read_back(start, version, headers, body, eol, terminated, self._parse_limits)

    def _pull_header(
        self, buf: Buffer, sipc: bool, budget: Budget, refs: Refs
    ) -> tuple[Header, bool]:
        """One header field, and whether its value is the body length (filled in later)."""
        first = buf.pull_uint8()
        table = self._table
        if first & _HEADERFORM_INDEXED:
            if not self._stateful:
                raise McpDecodeError("MCP table reference on a stateless connection")
            name, sep, value = table.get(buf.pull_prefixed(first, 7))
            budget.spend(len(name) + len(sep) + len(value) + 2)
            return Header(name, value, sep), False
        insert = bool(first & _HEADERFORM_LITERAL_INDEXED)
        if insert and not self._stateful:
            raise McpDecodeError("MCP table insertion on a stateless connection")
        static = buf.pull_prefixed(first, 6)
        sep = DEFAULT_SEP
        as_text = False
        if static:
            name = _header_name(static)
        else:
            flags = buf.pull_uint8()
            if flags & _EXTFLAG_RESERVED:
                raise McpDecodeError("reserved MCP header flags set")
            source = flags & _EXTFLAG_NAME_MASK
            if source == _EXTFLAG_NAME_STATIC:
                name = _header_name(buf.pull_varint())
            elif source == _EXTFLAG_NAME_DYNAMIC:
                if not self._stateful:
                    raise McpDecodeError("MCP table reference on a stateless connection")
                name = table.get(buf.pull_varint())[0]
            elif source == _EXTFLAG_NAME_LITERAL:
                name = buf.pull_string()
            else:
                raise McpDecodeError("unknown MCP header name form")
            if flags & _EXTFLAG_LITERAL_SEP:
                sep = buf.pull_string()
            as_text = bool(flags & _EXTFLAG_TEXT_VALUE)
        budget.spend(len(name) + len(sep) + 2)
        _, codec, sensitive = header_facts(name, sipc)
        if as_text:
            codec = Codec.TEXT
        value = pull_typed(buf, codec, self._words, budget, refs, record=not sensitive)
        if insert:
            if sensitive:
                raise McpDecodeError(f"MCP peer inserted the sensitive field {name!r} in its table")
            if codec == _CODEC_LENGTH:
                raise McpDecodeError("MCP peer inserted a derived Content-Length in its table")
            table.insert(name, sep, value)
        return Header(name, value, sep), codec == _CODEC_LENGTH


def encode(message: Message, options: McpOptions = DEFAULT_OPTIONS) -> bytes:
    """Encode one message on its own (stateless MCP).

    Raises:
        McpUsageError: the message is not one the text parser could have produced.
    """
    return Encoder(options).encode(message)


def decode(
    data: bytes, options: McpOptions = DEFAULT_OPTIONS, *, limits: McpLimits = DEFAULT_LIMITS
) -> Message:
    """Decode one stateless MCP message.

    Raises:
        McpDecodeError: the bytes are not a valid MCP message (or break a limit).
    """
    return Decoder(options, limits=limits).decode(data)


# -- parts ----------------------------------------------------------------------------------------


def _header_name(index: int) -> str:
    if not 0 < index < len(HEADER_NAMES):
        raise McpDecodeError(f"MCP header name {index} is not in the name table")
    return HEADER_NAMES[index]


def _push_status(buf: Buffer, status: int, reason: str, words: Dictionary, refs: Refs) -> None:
    if not 0 <= status <= MAX_STATUS:
        raise McpUsageError(f"status {status} cannot be carried by MCP")
    buf.push_varint(status)
    if reason == DEFAULT_REASONS.get(status):
        buf.push_varint(_REASON_DEFAULT)
    elif reason in REASON_INDEX:
        buf.push_varint(_REASON_TABLE + REASON_INDEX[reason])
    else:
        buf.push_varint(_REASON_LITERAL)
        push_text(buf, reason, words, refs)


def _pull_status(buf: Buffer, words: Dictionary, budget: Budget, refs: Refs) -> tuple[int, str]:
    status = buf.pull_varint()
    if status > MAX_STATUS:
        raise McpDecodeError(f"MCP status {status} is out of range")
    code = buf.pull_varint()
    if code == _REASON_LITERAL:
        return status, pull_text(buf, words, budget, refs=refs)
    if code == _REASON_DEFAULT:
        reason = DEFAULT_REASONS.get(status)
        if reason is None:
            raise McpDecodeError(f"MCP status {status} has no default reason phrase")
    elif code - _REASON_TABLE < len(REASONS):
        reason = REASONS[code - _REASON_TABLE]
    else:
        raise McpDecodeError(f"MCP reason {code} is not in the reason table")
    budget.spend(len(reason))
    return status, reason
