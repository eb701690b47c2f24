"""The one home of the SIP grammar (RFC 3261 §25.1) as regular expressions.

Every other module builds on these names; nothing else spells out character classes. The
expressions work on ``str`` decoded from the wire with ``surrogateescape`` so that any byte
survives a round trip.
"""

from __future__ import annotations

import re

# RFC 3261 §25.1 core rules -------------------------------------------------------------------
ALPHANUM = r"A-Za-z0-9"
MARK = r"\-_.!~*'()"
UNRESERVED = ALPHANUM + MARK
ESCAPED = r"%[0-9A-Fa-f]{2}"
#: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = ALPHANUM + r"\-.!%*_+`'~"
TOKEN = f"[{TOKEN_CHARS}]+"
#: word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")"
#:        / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
WORD = TOKEN_CHARS + r"()<>:\\\"/\[\]?{}"
WORD_RE = f"[{WORD}]+"
#: quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE; quoted-pair excludes CR and LF.
QUOTED_STRING = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'
LWS = r"[ \t]+"
SWS = r"[ \t]*"

token_re = re.compile(f"{TOKEN}")
token_full = re.compile(f"{TOKEN}\\Z")
word_full = re.compile(f"{WORD_RE}(?:@{WORD_RE})?\\Z")
quoted_string_re = re.compile(QUOTED_STRING)
digits_full = re.compile(r"[0-9]+\Z")

# URIs (RFC 3261 §19.1, §25.1) ----------------------------------------------------------------
USER = f"(?:[{UNRESERVED}&=+$,;?/]|{ESCAPED})+"
PASSWORD = f"(?:[{UNRESERVED}&=+$,]|{ESCAPED})*"
#: hostname or IPv4 (validated further in code) or an IPv6 reference.
HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?)"
PARAMCHAR = f"(?:[{UNRESERVED}\\[\\]/:&+$]|{ESCAPED})"
HNVCHAR = f"(?:[{UNRESERVED}\\[\\]/?:+$]|{ESCAPED})"
SIP_URI = (
    f"(?P<scheme>[sS][iI][pP][sS]?):"
    f"(?:(?P<user>{USER})(?::(?P<password>{PASSWORD}))?@)?"
    f"(?P<host>{HOST})(?::(?P<port>[0-9]+))?"
    f"(?P<params>(?:;{PARAMCHAR}+(?:={PARAMCHAR}+)?)*)"
    f"(?:\\?(?P<headers>{HNVCHAR}*=?{HNVCHAR}*(?:&{HNVCHAR}*={HNVCHAR}*)*))?"
)
sip_uri_full = re.compile(SIP_URI + r"\Z")
SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
scheme_re = re.compile(f"({SCHEME}):")
#: absoluteURI's remainder: uric characters (reserved / unreserved / escaped), no spaces.
URIC = f"(?:[{UNRESERVED};/?:@&=+$,\\[\\]]|{ESCAPED})"
absolute_rest_full = re.compile(f"{URIC}+\\Z")
tel_full = re.compile(r"(?P<number>\+?[0-9A-Fa-f*#.()\-pw]+)(?P<params>(?:;[^;]+)*)\Z")

# Start lines ---------------------------------------------------------------------------------
#: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; SIP-C spells it "SIP-C/4.0".
VERSION = r"(?:SIP|SIP-C)/[0-9]+\.[0-9]+"
request_line = re.compile(f"({TOKEN}) (\\S+) ({VERSION})\\Z", re.IGNORECASE)
status_line = re.compile(f"({VERSION}) ([0-9]{{3}}) (.*)\\Z", re.IGNORECASE | re.DOTALL)

# Header values --------------------------------------------------------------------------------
fold_re = re.compile(r"[ \t]*\n[ \t]*")
header_name_full = re.compile(f"{TOKEN}\\Z")
#: generic-param value: token / host / quoted-string; plus a bare IPv6 address, which Via's
#: ``received`` allows (RFC 3261 §20.42, RFC 5118 §4.5).
GEN_VALUE = f"(?:[0-9A-Fa-f]*:[0-9A-Fa-f:.]+|{TOKEN}|{HOST}|{QUOTED_STRING})"
param_re = re.compile(f"{SWS};{SWS}({TOKEN})(?:{SWS}={SWS}({GEN_VALUE}))?")
#: sent-protocol LWS sent-by, with SWS around every slash and colon (RFC 3261 §20.42).
via_re = re.compile(
    f"{SWS}({TOKEN}){SWS}/{SWS}({TOKEN}){SWS}/{SWS}({TOKEN}){LWS}({HOST})(?:{SWS}:{SWS}([0-9]+))?"
)
cseq_re = re.compile(f"{SWS}([0-9]+){LWS}({TOKEN}){SWS}\\Z")
media_type_re = re.compile(f"{SWS}({TOKEN}){SWS}/{SWS}({TOKEN})")
#: rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §20.17).
date_re = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT\Z"
)
warning_re = re.compile(f"{SWS}([0-9]{{3}}){LWS}(\\S+){LWS}({QUOTED_STRING}){SWS}\\Z")

MAX_UINT32 = 2**32 - 1


def normalize(value: str) -> str:
    """Return a header value with folded lines unfolded and outer white space removed.

    A fold (line break followed by white space) is equivalent to a single SP (RFC 3261 §7.3.1).
    """
    if "\n" in value:
        value = fold_re.sub(" ", value)
    return value.strip(" \t")


def unquote(quoted: str) -> str:
    """Remove the quotes of a quoted-string and resolve its quoted-pairs."""
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    return re.sub(r"\\(.)", r"\1", inner, flags=re.DOTALL)


def quote(text: str) -> str:
    """Quote ``text`` as a quoted-string, escaping backslash and double quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, ignoring commas in quotes and angle brackets."""
    if "," not in value:
        return [value]
    if '"' not in value and "<" not in value:
        return value.split(",")
    parts: list[str] = []
    depth = 0
    in_quote = False
    start = 0
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth <= 0:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts
