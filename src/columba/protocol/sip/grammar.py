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
#: The same, possessive (``++``): for the anchored expressions below, where a token always ends
#: at a character that is not one, so giving characters back could never help a match.
TOKEN_P = f"[{TOKEN_CHARS}]++"
#: word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")"
#:        / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
WORD = TOKEN_CHARS + r"()<>:\\\"/\[\]?{}"
WORD_RE = f"[{WORD}]+"
#: quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE; quoted-pair excludes CR and LF.
#: Written as an unrolled loop (runs of qdtext between quoted-pairs): the same language, but the
#: regex engine scans each run as one character class instead of alternating per character.
QUOTED_STRING = r'"[^"\\\r\n]*(?:\\[^\r\n][^"\\\r\n]*)*"'
QUOTED_STRING_P = r'"[^"\\\r\n]*+(?:\\[^\r\n][^"\\\r\n]*+)*+"'
LWS = r"[ \t]+"
SWS = r"[ \t]*"

token_re = re.compile(f"{TOKEN}")
token_full = re.compile(f"{TOKEN}\\Z")
word_full = re.compile(f"{WORD_RE}(?:@{WORD_RE})?\\Z")
quoted_string_re = re.compile(QUOTED_STRING)
digits_full = re.compile(r"[0-9]+\Z")

# URIs (RFC 3261 §19.1, §25.1) ----------------------------------------------------------------
#
# A SIP URI is taken apart by one anchored expression, ``sip_uri_rest_full``. Its grammar has a
# single reading ("@" ends only the userinfo, ":" only the user or the host, and "=", ";", "?"
# and "&" only their parts), so it is written with possessive quantifiers and never
# backtracks. Runs of characters with %-escapes are unrolled, runs of a class between
# escapes, which the regex engine scans far faster than a per-character alternation.


def _escaped_run(chars: str, *, at_least_one: bool) -> str:
    """``1*( [chars] / escaped )`` (``*`` unless ``at_least_one``), unrolled and possessive."""
    run = f"[{chars}]*+(?:{ESCAPED}[{chars}]*+)*+"
    return f"(?:[{chars}]|{ESCAPED}){run}" if at_least_one else run


USER_CHARS = f"{UNRESERVED}&=+$,;?/"
PASSWORD_CHARS = f"{UNRESERVED}&=+$,"
PARAM_CHARS = f"{UNRESERVED}\\[\\]/:&+$"
HNV_CHARS = f"{UNRESERVED}\\[\\]/?:+$"
#: user = 1*( unreserved / escaped / user-unreserved )
USER = _escaped_run(USER_CHARS, at_least_one=True)
#: password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
PASSWORD = _escaped_run(PASSWORD_CHARS, at_least_one=False)
#: userinfo, tried only when an "@" follows (no other part of a SIP URI may hold one); groups:
#: user, password.
USERINFO = f"(?:(?=[^@]*+@)({USER})(?::({PASSWORD}))?+@)?"
#: hostname or IPv4 (validated further in code) or an IPv6 reference.
HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?)"
#: The same language, possessive: an alphanumeric, then a run of alphanumerics, dots and
#: dashes that does not end in a dash. Where HOST's backtracking would have ended it before
#: a trailing dash, this refuses; every expression using HOST_P needs ":", ";", ">" or the
#: end after a host, never a dash, so both refuse the same texts. One character class scans
#: the run several times faster than a group repeated per character.
HOST_P = r"(?:\[[0-9A-Fa-f:.]++\]|[A-Za-z0-9][A-Za-z0-9.\-]*+(?<!-))"
#: 1*paramchar (pname and pvalue)
PARAM_RUN = _escaped_run(PARAM_CHARS, at_least_one=True)
#: *hnvchar (hname and hvalue)
HNV_RUN = _escaped_run(HNV_CHARS, at_least_one=False)
URI_PARAMS = f"(?:;{PARAM_RUN}(?:={PARAM_RUN})?+)*+"
URI_HEADERS = f"{HNV_RUN}=?+{HNV_RUN}(?:&{HNV_RUN}={HNV_RUN})*+"
#: A SIP URI after its scheme and colon (groups: user, password, host, port, params, headers).
sip_uri_rest_full = re.compile(
    f"{USERINFO}({HOST_P})(?::([0-9]++))?+({URI_PARAMS})(?:\\?({URI_HEADERS}))?+\\Z"
)
#: One parameter of a URI whose parameters matched the grammar: ``(name, value)``.
uri_param_re = re.compile(r";([^;=]+)(?:=([^;]*))?")
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

# Fast paths ----------------------------------------------------------------------------------
#
# Anchored expressions for the shapes nearly every message uses. The parsers try them first
# and take the general expressions above for anything they refuse, and for every error. On
# text they accept, the general way would take exactly the same steps, so they give the same
# values (``tests/protocol`` and the RFC 4475 verdicts hold both ways).
#
# Their grammars are unambiguous: a token ends where a non-token character starts, a host where
# ":", ";" or ">" does, a run of URI characters at "=", ";" or "@". So they are written with
# possessive quantifiers (``*+``, ``++``): a match is found, or refused, in one pass, with no
# backtracking (a Via with a space before a ";" used to cost more to refuse than to parse).

#: What starts a header line, for ``re.split`` of a header block: the line ending, the name and
#: the separator (groups: name, sep), so the block splits into ``[start line, name, sep, value,
#: name, sep, value, …]``. A line that starts no header (a fold, or a malformed line) stays in
#: the value before it, for the caller to find.
header_split_crlf = re.compile(f"\\r\\n({TOKEN_P})([ \\t]*+:[ \\t]*+)")
header_split_lf = re.compile(f"\\n({TOKEN_P})([ \\t]*+:[ \\t]*+)")

#: The versions we speak in their usual spelling: matched case-sensitively, which is faster
#: (and under IGNORECASE ``[A-Za-z]`` would also take the Kelvin sign and the long s).
PLAIN_VERSION = r"(?:SIP/2\.0|SIP-C/4\.0|SIP-C/2\.0)"
request_line_plain = re.compile(f"({TOKEN_P}) (\\S++) ({PLAIN_VERSION})\\Z")
status_line_plain = re.compile(f"({PLAIN_VERSION}) ([0-9]{{3}}) (.*)\\Z", re.DOTALL)

#: A parameter list with no white space, values tokens or quoted-strings; ``param_re`` would
#: take the same steps, and ``plain_param_re`` takes the list apart.
PLAIN_PARAMS = f"(?:;{TOKEN_P}(?:=(?:{TOKEN_P}|{QUOTED_STRING_P}))?+)*+"
plain_params_full = re.compile(f"{PLAIN_PARAMS}\\Z")
plain_param_re = re.compile(f";({TOKEN_P})(?:=({TOKEN_P}|{QUOTED_STRING_P}))?+")
#: The same with white space around ";" and "=" (folded lines, RFC 4475 ``wsinv``), where
#: ``param_re`` again takes the same steps, one ``spaced_param_re`` match at a time.
_EQ = r"[ \t]*+=[ \t]*+"
spaced_params_full = re.compile(
    f"(?:[ \\t]*+;[ \\t]*+{TOKEN_P}(?:{_EQ}(?:{TOKEN_P}|{QUOTED_STRING_P}))?+)*+[ \\t]*+\\Z"
)
spaced_param_re = re.compile(
    f"[ \\t]*+;[ \\t]*+({TOKEN_P})(?:{_EQ}({TOKEN_P}|{QUOTED_STRING_P}))?+"
)

#: One Via with white space wherever ``via_re`` and ``param_re`` allow it (a folded Via, once
#: unfolded), and the same groups; its parameters come apart with ``spaced_param_re``.
_S = r"[ \t]*+"
via_spaced_full = re.compile(
    f"{_S}({TOKEN_P}){_S}/{_S}({TOKEN_P}){_S}/{_S}({TOKEN_P})[ \\t]++({HOST_P})"
    f"(?:{_S}:{_S}([0-9]++))?+((?:{_S};{_S}{TOKEN_P}(?:{_EQ}(?:{TOKEN_P}|{QUOTED_STRING_P}))?+)*+)"
    f"{_S}\\Z"
)
#: ``SIP/2.0/UDP host:port;params`` (groups: protocol, version, transport, host, port, params).
via_plain_full = re.compile(
    f"({TOKEN_P})/({TOKEN_P})/({TOKEN_P}) ({HOST_P})(?::([0-9]++))?+({PLAIN_PARAMS})\\Z"
)
#: ``"Name" <sip-uri>;params``, ``Name <sip-uri>`` and ``<sip-uri>;params``, the SIP URI
#: without headers (groups: quoted name without escapes, token name, scheme, user, password,
#: host, port, URI params, params).
name_addr_plain_full = re.compile(
    f'(?:"([^"\\\\\\r\\n]*+)"[ \\t]*+|({TOKEN_P}(?:[ \\t]++{TOKEN_P})*+)[ \\t]*+)?'
    f"<([sS][iI][pP][sS]?+):{USERINFO.replace('[^@]', '[^@>]')}"
    f"({HOST_P})(?::([0-9]++))?+({URI_PARAMS})>({PLAIN_PARAMS})\\Z"
)
#: ``type/subtype;params`` (groups: type, subtype, params).
media_type_plain_full = re.compile(f"({TOKEN_P})/({TOKEN_P})({PLAIN_PARAMS})\\Z")

MAX_UINT32 = 2**32 - 1


def normalize(value: str) -> str:
    """Return a header value with folded lines unfolded and outer white space removed.

    A fold (line break followed by white space) is equivalent to a single SP (RFC 3261 §7.3.1).
    """
    if "\n" in value:
        # Each fold, with the white space on both sides of its line break, becomes one SP:
        # what ``fold_re.sub(" ", value)`` does, without the regex engine.
        return " ".join([part.strip(" \t") for part in value.split("\n")]).strip(" \t")
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
