"""What MCP carries: exactly the messages the text parser produces (ADR 0005, ADR 0019).

The encoder takes a message as the text parser reads its serialization and refuses one that
reads differently; the decoder accepts only a message whose own serialization reads back as
itself. So a gateway that turns MCP into text can never be made to write a header line (or a
body) that a text peer would read differently.
"""

from __future__ import annotations

from columba.protocol.errors import ParseError
from columba.protocol.mcp.errors import McpDecodeError, McpUsageError
from columba.protocol.sip.message import Header, Message, Response
from columba.protocol.sip.parser import ParseLimits, parse_message
from columba.protocol.sip.serializer import serialize


def carried_form(message: Message, limits: ParseLimits) -> Message:
    """The message as the text parser reads its serialization (Content-Length as written).

    Raises:
        McpUsageError: that reading differs from the message, so MCP cannot carry it.
    """
    data = serialize(message)
    try:
        parsed = parse_message(data, limits=limits)
    except ParseError as exc:
        raise McpUsageError(f"message cannot be carried by MCP: {exc.reason}") from None
    if serialize(parsed) != data:
        raise McpUsageError("message cannot be carried by MCP: its text form reads differently")
    return parsed


def read_back(
    start: tuple[int, str] | tuple[str, str],
    version: str,
    headers: list[Header],
    body: bytes,
    eol: str,
    terminated: bool,
    limits: ParseLimits,
) -> Message:
    """The message decoded fields make, as the text parser reads it; the decoder's last check.

    Args:
        start: Status and reason of a response, or method and Request-URI of a request.
        version, headers, body, eol, terminated: The other fields.
        limits: The text parser's limits.

    The text form is written from the fields (as ``serialize`` writes their message) and
    parsed once. The parse is returned if its fields equal these and it serializes back to
    that text: together, that ``parse_message(serialize(m)) == m`` for the fields' message
    ``m``, without building ``m``. Were the text written here ever to differ from
    ``serialize(m)``, the second comparison would fail: a message is then refused, never
    accepted wrongly.

    Raises:
        McpDecodeError: the text does not parse, or reads as another message.
    """
    first, second = start
    line = (
        f"{version} {first} {second}" if isinstance(first, int) else f"{first} {second} {version}"
    )
    out = [line, eol]
    for name, value, sep in headers:
        if "\n" in value:
            value = value.replace("\n", eol)
        out += (name, sep, value, eol)
    if terminated:
        out.append(eol)
    text = "".join(out).encode("utf-8", "surrogateescape") + body
    try:
        parsed = parse_message(text, limits=limits)
    except ParseError as exc:
        raise McpDecodeError(f"MCP message is not a well-formed message: {exc.reason}") from None
    # A response's start is (int, str), a request's (str, str): a parse of the other kind differs.
    if isinstance(parsed, Response):
        same_start = start == (parsed.status, parsed.reason)
    else:
        same_start = start == (parsed.method, parsed.uri)
    if not (
        same_start
        and parsed.version == version
        and parsed.body == body
        and parsed.eol == eol
        and parsed.is_terminated == terminated
        and parsed.headers == tuple(headers)
        and serialize(parsed) == text
    ):
        raise McpDecodeError("MCP message would read differently as text")
    return parsed
