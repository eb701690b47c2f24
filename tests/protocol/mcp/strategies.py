"""Hypothesis strategies for MCP: generated SIP and SIP-C messages, random on purpose.

Shared by the property tests and ``bench/mcp_size.py`` (which measures MCP on messages no table
was made from), so this module imports nothing that reads files.
"""

from __future__ import annotations

from hypothesis import strategies as st

from columba.protocol.errors import ParseError
from columba.protocol.mcp.tables import HEADER_NAMES
from columba.protocol.sip import Header, Message, Request, Response, parse_message, serialize

TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
VALUE_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n", max_codepoint=0x2FFF
)
#: Pieces that look like what MCP compresses, and near misses that must stay literal.
LOOKALIKES = st.sampled_from(
    [
        "0",
        "0042",
        "700100200",
        "-25",
        "-0",
        "18446744073709551616",
        "99999999999999999999999",
        "aBcDeF12",
        "abcdef0123456789",
        "ABCDEF0123456789ABCDEF0123456789",
        "79B2195A62F37F9F636BADACDF28A8c9",
        "192.168.1.34",
        "192.168.001.34",
        "256.1.1.1",
        "10.0.0.1:5060",
        "2001:db8::1",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "fe80::2aa:ff:fe28:9c5a",
        "ed78827c-d6cc-420a-a562-299c330f3df0",
        "ED78827C-D6CC-420A-A562-299C330F3DF0",
        "ed78827c-D6CC-420a-a562-299c330f3df0",
        "2024-05-14T09:31:09.325+08:00",
        "2024-05-14T01:34:57Z",
        "2024-02-30T01:34:57Z",
        "2024-05-14T25:00:00",
        "Sat, 08 May 2010 14:51:55 GMT",
        "Sun, 08 May 2010 14:51:55 GMT",
        "Sat, 8 May 2010 14:51:55 GMT",
        "SGVsbG8gd29ybGQhISEhIQ==",
        "SGVsbG8gd29ybGQhISEhIR==",
        "V5OruoPE0vo9hXyNqFs5jlR7",
        "周末去爬山",
        "阿飞 says hi",
        "sip:700100311@fetion.com.cn;p=3102",
        "<sip:alice@im.example.com>;tag=iKl0Z1Csop",
        "SIP/2.0/TCP 10.23.4.17:51234;branch=z9hG4bKQqNi7ooDBE;rport",
        'Digest username="bob",realm="x",nonce="2dCflfVvlL3NkbulLaU7",nc=00000001',
        "24 REGISTER",
        "1 R",
        "01 R",
        "1  R",
        "5 FROB",
        "text/plain",
        "CatMsg",
        "\x7f",
        "\x80",
        "@",
        "@fetion.com.cn",
    ]
)
VALUE = st.lists(st.one_of(LOOKALIKES, st.text(alphabet=VALUE_CHARS, max_size=20)), max_size=3).map(
    lambda parts: " ".join(parts).strip(" \t")
)
SEP = st.sampled_from([": ", ":", " : ", ":\t", "  :  ", ":  "])
NAMES = st.one_of(TOKEN, st.sampled_from(HEADER_NAMES[1:]))
LENGTH_NAMES = {"content-length", "l"}


@st.composite
def headers(draw: st.DrawFn, sipc: bool) -> tuple[Header, ...]:
    items = draw(st.lists(st.tuples(NAMES, VALUE, SEP), max_size=10))
    out = []
    for name, value, sep in items:
        if name.lower() in LENGTH_NAMES or (sipc and name == "L"):
            continue
        if value and " " in value and draw(st.booleans()):
            head, _, tail = value.partition(" ")
            value = f"{head}\n {tail}" if tail else value
        out.append(Header(name, value, sep))
    return tuple(out)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    version = draw(st.sampled_from(["SIP/2.0", "SIP-C/4.0", "SIP-C/2.0", "sip/2.0"]))
    sipc = version.upper().startswith("SIP-C")
    body = draw(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                [
                    b'<args><contact uri="tel:13900000004" /></args>',
                    b"<events><event type='x'/></events>",
                    b'<?xml version="1.0"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf"'
                    b' entity="sip:a@b">\n  <tuple id="1"><status><basic>open</basic>'
                    b"</status></tuple>\n</presence>\n",
                    b"<a><b></a></b><c",
                    b"</x>",
                    b'<a b="1"',
                    "吃饭了吗？".encode(),
                ]
            ),
            VALUE.map(lambda v: v.encode("utf-8")),
        )
    )
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    hs = draw(headers(sipc))
    length_name = draw(
        st.sampled_from(["L", "Content-Length"] if sipc else ["Content-Length", "l"])
    )
    length = str(len(body))
    length = draw(st.sampled_from([length, length, f"0{length}", f"{length} "]))
    if body or draw(st.booleans()):
        hs = (*hs, Header(length_name, length))
    terminated = bool(body) or draw(st.booleans())
    if draw(st.booleans()):
        return Request(
            method=draw(st.one_of(TOKEN, st.sampled_from(["MESSAGE", "R", "BN", "SUB"]))),
            uri=draw(
                st.one_of(
                    st.sampled_from(["sip:alice@example.com", "fetion.com.cn", "700100200"]),
                    LOOKALIKES.filter(lambda u: " " not in u and u[:1] != "<"),
                )
            ),
            version=version,
            headers=hs,
            body=body,
            eol=eol,
            is_terminated=terminated,
        )
    return Response(
        status=draw(st.integers(100, 699)),
        reason=draw(st.one_of(VALUE, st.sampled_from(["OK", "Unauthoried", "Send SMS OK"]))),
        version=version,
        headers=hs,
        body=body,
        eol=eol,
        is_terminated=terminated,
    )


def carried(message: Message) -> Message | None:
    """The message as the text parser reads it back, or ``None`` if it reads differently."""
    data = serialize(message)
    try:
        parsed = parse_message(data)
    except ParseError:  # the generator made something the text grammar refuses
        return None
    return parsed if serialize(parsed) == data else None
