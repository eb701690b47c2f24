"""How the encoder cuts text into tokens (any cut is valid; this one is compact).

Left to right, at each position the scanner takes the token that saves the most bytes over
literal text: the longest dictionary word or domain (with or without a leading ``@``), a
decimal without leading zeros (a varint), a uniform-case hex run (bytes plus the case), a
base64 run, a dotted-quad IPv4 or RFC 5952 IPv6 address, a UUID, an RFC 3339 date-time, a run
of characters UTF-8 writes in two or three bytes (UTF-16), an LF and its indentation. A URI is
thereby taken apart into its scheme word (``sip:``, ``<sip:``, ``tel:``), its user (an integer
for a SIP-C sid, else literal), its host (a domain code or address bytes), its port (an
integer) and its parameters (``;tag=``, ``;branch=z9hG4bK``, ``;transport=tcp`` …).

A compact token is used only when its rendering gives back the identical characters
(``0042`` stays literal, ``aBcD…`` is not hex, a date with the wrong weekday is text). XML
bodies are cut into element, attribute and closing tokens (:func:`scan_xml`), and text tokens
for everything else, so any document — well-formed or not — is representable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from columba.protocol.mcp.buffer import Buffer, encode_text, varint_size
from columba.protocol.mcp.forms import (
    B64,
    B64_CHARS,
    DIGIT_CHARS,
    HEX_CHARS,
    MIN_BASE64_CHARS,
    MIN_HEX_DIGITS,
    base64_token,
    run_token,
)
from columba.protocol.mcp.refs import Refs
from columba.protocol.mcp.tables import Op
from columba.protocol.mcp.text import (
    MAX_XML_DEPTH,
    Dictionary,
    Token,
    dictionary,
    push_tokens,
)

# Plain-int copies of the wire codes this module uses in its loops: reading an IntEnum
# member costs an enum attribute look-up every time (about 170 ns on CPython 3.11).
_OP_ATTR = int(Op.ATTR)
_OP_CLOSE = int(Op.CLOSE)
_OP_GT = int(Op.GT)
_OP_LITERAL = int(Op.LITERAL)
_OP_NEWLINE = int(Op.NEWLINE)
_OP_OPEN = int(Op.OPEN)
_OP_QUOTE = int(Op.QUOTE)
_OP_QUOTE_GT = int(Op.QUOTE_GT)
_OP_QUOTE_SLASH_GT = int(Op.QUOTE_SLASH_GT)
_OP_QUOTE_SP_SLASH_GT = int(Op.QUOTE_SP_SLASH_GT)
_OP_SLASH_GT = int(Op.SLASH_GT)
_OP_SP_SLASH_GT = int(Op.SP_SLASH_GT)
_OP_UTF16 = int(Op.UTF16)
_SPACES = re.compile(r" *")
#: Characters UTF-8 writes in two or three bytes and UTF-16 in two (no surrogates).
_WIDE = re.compile("[\u0080-\ud7ff\ue000-\uffff]+")
#: Base64 characters that start no other run item (not hex, not a digit): there
#: :func:`.forms.run_token` could only find base64.
_B64_ONLY_CHARS = B64_CHARS - HEX_CHARS
#: Runs of the least length a base64 or hex item takes.
_B64_RUN = re.compile(f"[A-Za-z0-9+/]{{{MIN_BASE64_CHARS}}}")
_HEX_RUN = re.compile(f"[0-9a-fA-F]{{{MIN_HEX_DIGITS}}}")
#: The same, tried only where a run starts (a run holds one of the least length if and only
#: if it does from its start), so that looking through a whole text counts each run once.
_B64_RUN_START = re.compile(f"(?<![A-Za-z0-9+/]){_B64_RUN.pattern}")
_HEX_RUN_START = re.compile(f"(?<![0-9a-fA-F]){_HEX_RUN.pattern}")


# -- scanning text into tokens --------------------------------------------------------------------

#: First character → (match function of the words and domains starting with it, longest
#: first, so the first alternative that matches is the longest; word → (token, gain)).
Matcher = Callable[[str, int], re.Match[str] | None]
Matchers = dict[str, tuple[Matcher, dict[str, tuple[Token, int]]]]
#: Where some item may save a byte over an open literal run (see :func:`scan`).
Search = Callable[[str, int], re.Match[str] | None]

#: Where an item that saves at least one byte may start, besides a dictionary word. Each
#: pattern is implied by what :func:`_best_at` needs for that item, and starts with one
#: character class (the engine tests it before entering the alternative). First the shapes
#: a text may lack altogether, with the test that it holds one (its search then leaves the
#: shape out): base64 (16 characters at the start of a run of them: a later start has a
#: shorter run, and at the run's start an item is always taken), hex (8 digits, as a UUID
#: starts too), IPv6 (two colons with only hex digits between), UTF-16 (three characters;
#: fewer never pay).
_B64_SET = "A-Za-z0-9+/"
_WIDE_SET = "\u0080-\ud7ff\ue000-\uffff"
_OPTIONAL_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (_B64_RUN_START, f"[{_B64_SET}](?<![{_B64_SET}].)[{_B64_SET}]{{15}}"),
    (_HEX_RUN_START, "[0-9a-fA-F][0-9a-fA-F]{7}"),
    (re.compile(":[0-9a-f]*:"), "[0-9a-f:][0-9a-f]*:"),
    (re.compile(f"[{_WIDE_SET}]"), f"[{_WIDE_SET}][{_WIDE_SET}]{{2}}"),
)
#: Then the shapes every search has: three digits (an integer without a leading zero, a
#: date-time's year) or up to three and a dot (IPv4), and an LF with two spaces.
_SHAPES = (r"[0-9][0-9]{0,2}[0-9.]", r"\n  ")


@lru_cache(maxsize=64)
def _tables(domains: tuple[str, ...], xml: bool) -> tuple[Matchers, str]:
    """The word matchers of a dictionary and alphabet, and the alternatives of its searches
    for the words that save a byte: one per first character, each starting with that
    character (which the engine tests before entering an alternative)."""
    words = dictionary(domains)
    candidates = words.xml_candidates if xml else words.text_candidates
    matchers: Matchers = {}
    gainful: dict[str, list[str]] = {}
    for ch, entries in candidates.items():
        pattern = re.compile("|".join(re.escape(word) for word, _, _ in entries))
        gains: dict[str, tuple[Token, int]] = {}
        for word, token, size in entries:
            gains.setdefault(word, (token, len(word) - size))
            if len(word) - size >= 1:
                gainful.setdefault(ch, []).append(re.escape(word[1:]))
        matchers[ch] = (pattern.match, gains)
    words_pattern = "|".join(
        f"{re.escape(ch)}(?:{'|'.join(rests)})" for ch, rests in sorted(gainful.items())
    )
    return matchers, words_pattern


@lru_cache(maxsize=256)
def _search(domains: tuple[str, ...], xml: bool, shapes: int) -> Search:
    """The search of :func:`scan` for a text that may hold the set ``shapes`` (bits) of
    ``_OPTIONAL_SHAPES`` (compiled when first needed)."""
    optional = [p for k, (_, p) in enumerate(_OPTIONAL_SHAPES) if shapes >> k & 1]
    return re.compile("|".join([*optional, *_SHAPES, _tables(domains, xml)[1]])).search


def scan(text: str, words: Dictionary, *, xml: bool = False) -> list[Token]:
    """Cut ``text`` into tokens whose rendering is exactly ``text``.

    Left to right, at each position the token :func:`_best_at` finds is taken when it saves
    a byte over literal text (or breaks even where no literal run is open: a lone character
    costs two bytes as a literal run, one as a word). Inside a literal run the scanner jumps
    with one regular expression search to the next position where an item could save a byte
    (``_OPTIONAL_SHAPES``, ``_SHAPES`` and the words that save one), instead of trying every
    position.

    Args:
        text: The text.
        words: The dictionary.
        xml: Use the XML alphabet's costs (text between and inside XML tags).
    """
    matchers = _tables(words.domains, xml)[0]
    n = len(text)
    # No position can start a base64 or hex item when no run of the least length is there.
    runs = (
        n >= MIN_BASE64_CHARS and _B64_RUN_START.search(text) is not None,
        n >= MIN_HEX_DIGITS and _HEX_RUN_START.search(text) is not None,
    )
    next_start: Search | None = None  # chosen when first needed
    tokens: list[Token] = []
    literal_start = 0
    i = 0
    while i < n:
        found = _best_at(text, i, matchers, runs)
        if found is None or found[2] < (0 if literal_start == i else 1):
            if next_start is None:
                next_start = _search(words.domains, xml, _shapes_in(text, runs))
            m = next_start(text, i + 1)
            if m is None:
                break
            i = m.start()
            continue
        if literal_start < i:
            tokens.append((_OP_LITERAL, text[literal_start:i]))
        tokens.append(found[0])
        i += found[1]
        literal_start = i
    if literal_start < n:
        tokens.append((_OP_LITERAL, text[literal_start:]))
    return tokens


def _shapes_in(text: str, runs: tuple[bool, bool]) -> int:
    """The set (as bits) of ``_OPTIONAL_SHAPES`` that ``text`` may hold."""
    return (
        runs[0]
        | runs[1] << 1
        | (":" in text and _OPTIONAL_SHAPES[2][0].search(text) is not None) << 2
        | (not text.isascii()) << 3
    )


def _best_at(
    text: str, i: int, matchers: Matchers, runs: tuple[bool, bool]
) -> tuple[Token, int, int] | None:
    """The token that saves the most bytes at ``i``: token, length, gain (or ``None``).

    A dictionary word (the longest) first; a number, address or binary run replaces it only
    when it saves strictly more. ``runs``: whether ``text`` holds a base64 run and a hex run
    of the least length anywhere.
    """
    ch = text[i]
    best: tuple[Token, int, int] | None = None
    matcher = matchers.get(ch)
    if matcher is not None:
        m = matcher[0](text, i)
        if m is not None:
            word = m.group()
            token, gain = matcher[1][word]
            best = token, len(word), gain
    if ch in _B64_ONLY_CHARS:  # no other run item starts with it
        if runs[0] and _B64_RUN.match(text, i) is not None:
            run = base64_token(text, i, B64.match(text, i).group())  # type: ignore[union-attr]
            if run is not None and run[2] > (0 if best is None else best[2]):
                return run
    elif ch in B64_CHARS or ch == ":":
        base64_ok = runs[0] and ch in B64_CHARS and _B64_RUN.match(text, i) is not None
        hex_ok = runs[1] and ch in HEX_CHARS and _HEX_RUN.match(text, i) is not None
        if (
            base64_ok
            or hex_ok
            or ch in DIGIT_CHARS
            or text.find(":", i, i + 5) >= 0
            or text.startswith("-", i + 8)
        ):
            run = run_token(text, i, ch, base64_ok=base64_ok, hex_ok=hex_ok)
            if run is not None and run[2] > (0 if best is None else best[2]):
                return run
    elif ch >= "\x80":
        m = _WIDE.match(text, i)
        if m is not None:
            wide = m.group()
            gain = len(encode_text(wide)) - 1 - varint_size(len(wide)) - 2 * len(wide)
            if gain > (0 if best is None else best[2]):
                return (_OP_UTF16, wide), len(wide), gain
    elif ch == "\n":
        spaces = len(_SPACES.match(text, i + 1).group())  # type: ignore[union-attr]
        gain = spaces - varint_size(spaces)
        if gain > (0 if best is None else best[2]):
            return (_OP_NEWLINE, spaces), 1 + spaces, gain
    return best


# -- XML bodies -----------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_.:-]*"
_OPEN_TAG = re.compile(f"<({_NAME})")
_CLOSE_TAG = re.compile(f"</({_NAME})>")
_ATTRIBUTE = re.compile(f' ({_NAME})="')
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_TAG_END = re.compile(r"[ \t\r\n/>]")
_CLOSERS: tuple[tuple[str, int, bool], ...] = (
    ('" />', _OP_QUOTE_SP_SLASH_GT, True),
    ('"/>', _OP_QUOTE_SLASH_GT, True),
    ('">', _OP_QUOTE_GT, False),
    ('"', _OP_QUOTE, False),
)
_TAG_CLOSERS: tuple[tuple[str, int, bool], ...] = (
    (" />", _OP_SP_SLASH_GT, True),
    ("/>", _OP_SLASH_GT, True),
    (">", _OP_GT, False),
)


def scan_xml(text: str, words: Dictionary) -> list[Token]:
    """Cut an XML document into XML-alphabet tokens (elements, attributes, text runs).

    Anything that is not the plain shape (single-quoted attributes, comments, processing
    instructions, mismatched end tags) becomes text tokens, so every input is representable.
    """
    tokens: list[Token] = []
    stack: list[str] = []
    in_tag = False
    i = 0
    n = len(text)
    while i < n:
        if in_tag:
            m = _ATTRIBUTE.match(text, i)
            if m is not None and text.find('"', m.end()) >= 0:
                tokens.append((_OP_ATTR, m.group(1)))
                start = m.end()
                end = text.index('"', start)
                tokens += scan(text[start:end], words, xml=True)
                for closer, op, closes in _CLOSERS:
                    if text.startswith(closer, end):
                        tokens.append((op, None))
                        i = end + len(closer)
                        if op != _OP_QUOTE:
                            in_tag = False
                        if closes:
                            stack.pop()
                        break
                continue
            for closer, op, closes in _TAG_CLOSERS:
                if text.startswith(closer, i):
                    tokens.append((op, None))
                    i += len(closer)
                    in_tag = False
                    if closes:
                        stack.pop()
                    break
            else:
                end = _tag_chunk_end(text, i)
                tokens += scan(text[i:end], words, xml=True)
                i = end
            continue
        if text.startswith("</", i):
            m = _CLOSE_TAG.match(text, i)
            if m is not None and stack and stack[-1] == m.group(1):
                tokens.append((_OP_CLOSE, None))
                stack.pop()
                i = m.end()
                continue
        elif text.startswith("<", i) and len(stack) < MAX_XML_DEPTH:
            m = _OPEN_TAG.match(text, i)
            if m is not None:
                tokens.append((_OP_OPEN, m.group(1)))
                stack.append(m.group(1))
                in_tag = True
                i = m.end()
                continue
        end = text.find("<", i + 1)
        if end < 0:
            end = n
        tokens += scan(text[i:end], words, xml=True)
        i = end
    return tokens


def _tag_chunk_end(text: str, i: int) -> int:
    """Where a stretch inside a tag that is no attribute or closer ends (always after ``i``)."""
    m = _WHITESPACE.match(text, i)
    if m is not None:
        end = m.end()
        # Leave one space to start the attribute item that follows.
        if end - 1 > i and text[end - 1] == " " and _ATTRIBUTE.match(text, end - 1):
            return end - 1
        return end
    m = _TAG_END.search(text, i + 1)
    return m.start() if m is not None else len(text)


def push_text(
    buf: Buffer, text: str, words: Dictionary, refs: Refs | None = None, *, record: bool = True
) -> None:
    """Write ``text`` as text items, ending with ``Op.END`` (``refs``, ``record``: see
    :func:`.text.push_tokens`)."""
    push_tokens(buf, scan(text, words), refs=refs, record=record)
