"""Unit tests of the MCP building blocks: buffer integers, text items, typed header values,
the dynamic table, limits and the decoder's refusals."""

from __future__ import annotations

import pytest

from columba.protocol.errors import LocalProtocolError, ParseError
from columba.protocol.mcp import (
    Decoder,
    DynamicTable,
    Encoder,
    McpDecodeError,
    McpLimitExceeded,
    McpLimits,
    McpOptions,
    McpUsageError,
    decode,
    encode,
)
from columba.protocol.mcp.buffer import Buffer
from columba.protocol.mcp.fields import format_date, pull_typed, typed_payload
from columba.protocol.mcp.scanner import push_text, scan, scan_xml
from columba.protocol.mcp.table import entry_size
from columba.protocol.mcp.tables import (
    HEADER_NAMES,
    METHODS,
    WORDS,
    XML_ATTRS,
    XML_TAGS,
    Codec,
    HeaderForm,
    Op,
)
from columba.protocol.mcp.text import Budget, dictionary, pull_text, render
from columba.protocol.sip import Header, Request, Response, parse_message, serialize

WORDS_ = dictionary(("im.example.com",))

# -- buffer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (2**64 - 1, "ff" * 9 + "01")],
)
def test_varints_are_leb128(value: int, wire: str) -> None:
    buf = Buffer()
    buf.push_varint(value)
    assert buf.data.hex() == wire
    assert Buffer(bytes.fromhex(wire)).pull_varint() == value


@pytest.mark.parametrize(("value", "wire"), [(0, "00"), (-1, "01"), (1, "02"), (-25, "31")])
def test_zigzag(value: int, wire: str) -> None:
    buf = Buffer()
    buf.push_zigzag(value)
    assert buf.data.hex() == wire
    assert Buffer(buf.data).pull_zigzag() == value


@pytest.mark.parametrize(("value", "wire"), [(5, "45"), (62, "7e"), (63, "7f00"), (200, "7f89 01")])
def test_prefixed_integers_follow_rfc_7541(value: int, wire: str) -> None:
    buf = Buffer()
    buf.push_prefixed(0x40, 6, value)
    assert buf.data.hex() == wire.replace(" ", "")
    reader = Buffer(buf.data)
    assert reader.pull_prefixed(reader.pull_uint8(), 6) == value


@pytest.mark.parametrize("wire", ["", "80", "ff" * 10 + "01", "ff" * 9 + "02"])
def test_bad_varints_are_decode_errors(wire: str) -> None:
    with pytest.raises(McpDecodeError):
        Buffer(bytes.fromhex(wire)).pull_varint()


def test_usage_errors_are_local_protocol_errors() -> None:
    with pytest.raises(LocalProtocolError):
        Buffer().push_varint(-1)
    with pytest.raises(McpUsageError):
        Buffer().push_varint(2**64)
    with pytest.raises(McpUsageError):
        Buffer().push_string("\ud800")


# -- tables ---------------------------------------------------------------------------------------


def test_tables_have_no_duplicates_and_fill_their_short_codes() -> None:
    for table in (WORDS, XML_TAGS, XML_ATTRS, HEADER_NAMES, METHODS):
        assert len(set(table)) == len(table)
    assert len(WORDS) >= 128
    assert len(XML_TAGS) >= 64
    assert len(XML_ATTRS) >= 64
    assert HEADER_NAMES[0] == METHODS[0] == ""
    assert WORDS[128] == "negative-delivery"  # docs/protocol/mcp.md lists the short codes


# -- text items -----------------------------------------------------------------------------------


def kinds(text: str) -> list[str]:
    return [Op(kind).name for kind, _ in scan(text, WORDS_)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("700100200", ["INT"]),
        ("0042", ["LITERAL"]),
        ("42", ["LITERAL"]),
        ("79B2195A62F37F9F636BADACDF28A8C9", ["HEX_UPPER"]),
        ("819254fbf4cf50b8e8e3247d0236f73b", ["HEX_LOWER"]),
        ("79B2195A62f37f9f", ["BASE64"]),
        ("198.51.100.23", ["IPV4"]),
        ("198.051.100.23", ["LITERAL", "INT", "LITERAL"]),
        ("ed78827c-d6cc-420a-a562-299c330f3df0", ["UUID_LOWER"]),
        ("ED78827C-D6CC-420A-A562-299C330F3DF0", ["UUID_UPPER"]),
        ("2024-05-14T09:31:09.325+08:00", ["TIMESTAMP"]),
        ("2024-02-30T09:31:09Z", ["INT", "LITERAL"]),
        ("V5OruoPE0vo9hXyNqFs5jlR7", ["BASE64"]),
        ("周末去爬山", ["UTF16"]),
        ("sip:700100311@fetion.com.cn;p=3102", ["WORD", "INT", "AT_DOMAIN", "WORD", "INT"]),
        ("<sip:alice@im.example.com>", ["WORD", "LITERAL", "AT_DOMAIN", "WORD"]),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", ["IPV6"]),
        ("2001:db8:85a3:08d3:1319:8a2e:370:7348", ["INT", "LITERAL", "INT"]),
    ],
)
def test_scanner_uses_a_compact_item_only_when_it_renders_identically(
    text: str, expected: list[str]
) -> None:
    tokens = scan(text, WORDS_)
    assert [Op(kind).name for kind, _ in tokens][: len(expected)] == expected
    assert render(tokens, WORDS_) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        '"Alice Liu" <sip:alice@im.example.com>;tag=iKl0Z1Csop',
        "SIP/2.0/TCP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111",
        "\udcff\udcfe raw bytes",
        "x" * 5000,
        "0" * 30,
        "9" * 40,
        "AAAA" * 40 + "==",
        "\n" + " " * 300 + "x",
    ],
)
def test_text_round_trips(text: str) -> None:
    buf = Buffer()
    push_text(buf, text, WORDS_)
    assert pull_text(Buffer(buf.data), WORDS_, Budget(1 << 20)) == text


@pytest.mark.parametrize(
    "body",
    [
        '<args><contact uri="tel:13900000004" /></args>',
        "<Font Face='宋体' Color='-16777216' Size='10.5'>hi</Font>",
        '<?xml version="1.0"?>\n<presence\n    xmlns="urn:ietf:params:xml:ns:pidf">\n'
        '  <tuple id="a1"><status><basic>open</basic></status></tuple>\n</presence>\n',
        "<a><b></a></b>",
        "</b><a",
        '<a x="1',
        "<!-- c --><a/>",
        "<a  b=\"1\"  c='2'/>",
    ],
)
def test_xml_bodies_round_trip(body: str) -> None:
    tokens = scan_xml(body, WORDS_)
    assert render(tokens, WORDS_, xml=True) == body


def test_deep_xml_is_carried_as_text() -> None:
    body = ("<a>" * 1000 + "</a>" * 1000).encode()
    message = Request(method="MESSAGE", uri="sip:a@b", body=body)
    assert serialize(decode(encode(message))) == serialize(message)


def test_xml_uses_element_and_attribute_codes() -> None:
    tokens = scan_xml('<args><contact uri="tel:1" /></args>', WORDS_)
    assert [Op(kind).name for kind, _ in tokens] == [
        "OPEN",
        "GT",
        "OPEN",
        "ATTR",
        "WORD",
        "LITERAL",
        "QUOTE_SP_SLASH_GT",
        "CLOSE",
    ]


def test_decoded_size_is_limited_before_allocation() -> None:
    bomb = bytes([Op.NEWLINE]) + bytes.fromhex("ffffffffffffffff7f") + b"\x00"
    with pytest.raises(McpLimitExceeded):
        pull_text(Buffer(bomb), WORDS_, Budget(1000))
    words = bytes([Op.SHORT + 33]) * 200 + b"\x00"  # a 27-byte word, 200 times
    with pytest.raises(McpLimitExceeded):
        pull_text(Buffer(words), WORDS_, Budget(1000))


# -- typed header values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "value", "size"),
    [
        (Codec.CSEQ, "24 REGISTER", 2),
        (Codec.CSEQ, "200002 I", 4),
        (Codec.UINT, "600", 2),
        (Codec.SINT, "-25", 1),
        (Codec.HEX, "819254fbf4cf50b8e8e3247d0236f73b", 17),
        (Codec.DATE, "Sat, 08 May 2010 14:51:55 GMT", 5),
        (Codec.WORD, "CatMsg", 1),
        (Codec.LENGTH, "31", 0),
    ],
)
def test_typed_values(codec: Codec, value: str, size: int) -> None:
    payload = typed_payload(codec, value, 31)
    assert payload is not None
    assert len(payload) == size
    if codec != Codec.LENGTH:
        assert pull_typed(Buffer(payload), codec, WORDS_, Budget(100)) == value


@pytest.mark.parametrize(
    ("codec", "value"),
    [
        (Codec.CSEQ, "024 REGISTER"),
        (Codec.CSEQ, "24  REGISTER"),
        (Codec.CSEQ, "24 FROBNICATE"),
        (Codec.UINT, "0600"),
        (Codec.UINT, " 600"),
        (Codec.SINT, "-0"),
        (Codec.SINT, "+5"),
        (Codec.HEX, "819254fbF4"),
        (Codec.HEX, "abc"),
        (Codec.DATE, "Sun, 08 May 2010 14:51:55 GMT"),
        (Codec.DATE, "Sat, 8 May 2010 14:51:55 GMT"),
        (Codec.DATE, "Thu, 01 Jan 1970 00:00:00 UTC"),
        (Codec.WORD, "catmsg"),
        (Codec.LENGTH, "031"),
    ],
)
def test_look_alike_values_have_no_typed_form(codec: Codec, value: str) -> None:
    assert typed_payload(codec, value, 31) is None


def test_dates_render_as_rfc_1123() -> None:
    assert format_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    with pytest.raises(McpDecodeError):
        format_date(10**12)


# -- messages -------------------------------------------------------------------------------------

REGISTER = (
    b"R fetion.com.cn SIP-C/4.0\r\nF: 700100200\r\nI: 1\r\nQ: 1 R\r\n"
    b"CN: 79B2195A62F37F9F636BADACDF28A8C9\r\n\r\n"
)


def test_content_length_is_derived_from_the_body() -> None:
    message = parse_message(b"M 7 SIP-C/4.0\r\nL: 5\r\n\r\nhello")
    data = encode(message)
    assert b"5" not in data[:6]
    assert serialize(decode(data)) == serialize(message)


def test_odd_spellings_survive() -> None:
    data = (
        b"SIP/2.0 401 Unauthoried\n"
        b"vIa  :  SIP/2.0/UDP x;branch=1\n"
        b"X-Folded: a\n  b\n"
        b"Content-Length: 005\n\nhello"
    )
    message = parse_message(data)
    assert serialize(decode(encode(message))) == data


def test_unterminated_heads_survive() -> None:
    data = b"SIP/2.0 200 OK\r\nCall-ID: x\r\n"
    message = parse_message(data)
    assert not message.is_terminated
    assert serialize(decode(encode(message))) == data


def test_messages_the_text_parser_would_read_differently_are_refused() -> None:
    bad_name = Response(status=200, headers=(Header("Bad Name", "x"),))
    with pytest.raises(McpUsageError):
        encode(bad_name)
    with pytest.raises(McpUsageError):
        encode(Response(status=1000))
    smuggled = Request(method="M", uri="x", headers=(Header("A", "b\r\nEvil: yes"),))
    with pytest.raises(McpUsageError):
        encode(smuggled)


def _with_value(name_code: int, value: bytes) -> bytes:
    """A stateless SIP/2.0 request ``MESSAGE x`` with one literal-value header."""
    return bytes([0x08, 7, 1, ord("x"), 0, 1, 0x00, 0x0A, name_code]) + value


def test_decoder_refuses_a_header_that_would_smuggle_another_line() -> None:
    # extended header, literal name "A", text value "b\r\nEvil: 1"
    data = bytes([0x08, 7, 1, ord("x"), 0, 1, 0x00, 0x0A, 1, ord("A"), 10]) + b"b\r\nEvil: 1\x00"
    with pytest.raises(McpDecodeError):
        decode(data)
    ok = bytes([0x08, 7, 1, ord("x"), 0, 1, 0x00, 0x0A, 1, ord("A"), 1]) + b"b\x00"
    assert serialize(decode(ok)) == b"MESSAGE x SIP/2.0\r\nA: b\r\n\r\n"


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"", "ends"),
        (b"\x0f", "body kind"),
        (bytes([0x08, 100]), "method"),
        (bytes([0x88, 0xE8, 0x07]), "status"),
        (bytes([0x88, 0xC8, 0x01, 99]), "reason"),
        (bytes([0x88, 0xC8, 0x01, 0x01, 0x01, 0x80]), "stateless"),
        (bytes([0x88, 0xC8, 0x01, 0x01, 0x01, 0x41]), "stateless"),
        (bytes([0x88, 0xC8, 0x01, 0x01, 0x01, 0x00, 0xF0]), "reserved"),
        (bytes([0x88, 0xC8, 0x01, 0x01, 0x01, 0x3F, 0x7F]), "name"),
        (bytes([0x88, 0xC8, 0x01, 0x01, 0x00, 0x00]), "trailing"),
    ],
)
def test_decoder_errors_name_the_problem(data: bytes, what: str) -> None:
    with pytest.raises(McpDecodeError, match=what):
        decode(data)


def test_decode_errors_are_parse_errors_with_a_status() -> None:
    with pytest.raises(ParseError) as info:
        decode(b"\x0f")
    assert info.value.status == 400


def test_limits_are_configuration() -> None:
    message = parse_message(REGISTER)
    data = encode(message)
    with pytest.raises(McpLimitExceeded):
        decode(data, limits=McpLimits(max_fields=3))
    with pytest.raises(McpLimitExceeded):
        decode(data, limits=McpLimits(max_message_bytes=40))
    with pytest.raises(McpLimitExceeded):
        decode(data, limits=McpLimits(max_frame_bytes=10))
    assert serialize(decode(data, limits=McpLimits(max_fields=5))) == REGISTER


def test_domains_must_match_on_both_sides() -> None:
    message = parse_message(b"MESSAGE sip:bob@corp.example SIP/2.0\r\n\r\n")
    options = McpOptions(domains=("corp.example",))
    data = encode(message, options)
    assert len(data) < len(encode(message))
    assert serialize(decode(data, options)) == serialize(message)
    with pytest.raises(McpDecodeError, match="domain"):
        decode(data)
    with pytest.raises(McpUsageError):
        McpOptions(domains=tuple(f"d{i}.example" for i in range(13))) and encode(
            message, McpOptions(domains=tuple(f"d{i}.example" for i in range(13)))
        )


# -- the dynamic table ----------------------------------------------------------------------------


def test_table_evicts_the_oldest_entries() -> None:
    table = DynamicTable(2 * entry_size("F", ": ", "700100200"))
    table.insert("F", ": ", "700100200")
    table.insert("T", ": ", "700100201")
    assert table.get(0) == ("T", ": ", "700100201")
    assert table.find("F", ": ", "700100200") == 1
    table.insert("K", ": ", "700100202")
    assert len(table) == 2
    assert table.find("F", ": ", "700100200") is None
    assert table.find_name("T") == 1
    with pytest.raises(McpDecodeError):
        table.get(2)


def test_an_entry_larger_than_the_table_empties_it() -> None:
    table = DynamicTable(100)
    table.insert("F", ": ", "1")
    table.insert("User-Agent", ": ", "x" * 100)
    assert len(table) == 0
    assert table.size == 0


def test_repeated_fields_become_one_byte_references() -> None:
    encoder = Encoder(table_size=4096)
    decoder = Decoder(table_size=4096)
    message = parse_message(REGISTER)
    first = encoder.encode(message)
    second = encoder.encode(message)
    assert len(second) <= len(first) - 8
    # head, method S, URI, count, then F and I as table references (1 and 0 from the newest)
    assert second[5:7] == bytes([HeaderForm.INDEXED | 1, HeaderForm.INDEXED | 0])
    for data in (first, second):
        assert serialize(decoder.decode(data)) == REGISTER


def test_secrets_never_enter_the_table() -> None:
    data = (
        b'REGISTER sip:x SIP/2.0\r\nAuthorization: Digest response="1"\r\n'
        b"A: Digest x\r\nProxy-Authorization: Digest y\r\nX-Auth-Token: t\r\n"
        b"Call-ID: abc\r\n\r\n"
    )
    encoder = Encoder(table_size=4096)
    encoder.encode(parse_message(data))
    sipc = parse_message(REGISTER.replace(b"F: 700100200\r\n", b"A: Digest x\r\nAK: ak\r\n"))
    encoder.encode(sipc)
    names = {encoder.table.get(i)[0] for i in range(len(encoder.table))}
    assert names == {"Call-ID", "I"}


def test_decoder_refuses_a_peer_that_indexes_a_secret() -> None:
    # literal with insertion (0x40), static name 38 (Authorization), text "x"
    data = bytes([0x08, 7, 1, ord("x"), 0, 1, 0x40 | 38, 1, ord("x"), 0])
    assert HEADER_NAMES[38] == "Authorization"
    with pytest.raises(McpDecodeError, match="sensitive"):
        Decoder(table_size=4096).decode(data)


def test_a_failed_stateful_decoder_stays_failed() -> None:
    decoder = Decoder(table_size=4096)
    with pytest.raises(McpDecodeError):
        decoder.decode(b"\x0f")
    with pytest.raises(McpDecodeError):
        decoder.decode(encode(parse_message(REGISTER)))
