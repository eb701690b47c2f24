"""How fast can a pure-Python typed parse be at all? A floor for the codec issue's 3× target.

The codec issue asks ``bench/parse.py``'s typed mode to run at ≥ 3× sippy's typed rate, in
pure Python, on the SIP IM corpus. This script measures two parsers written only to find the
ceiling. Neither is usable: they skip everything a codec owes its callers.

- **floor**: one ``re.findall`` over the head for every ``name: value`` line, a dict of each
  wanted header's first value, then one regex match per typed header (Via, From, To, Contact,
  CSeq, Content-Type) plus a ``findall`` for its parameters, and ``int`` where a number is
  wanted. Plain tuples, not named ones.
- **one-pass**: a single ``re.findall`` whose alternation takes the typed headers apart while
  it splits the lines, so no second regex call per header.

What both leave out:
- no message object, and no byte-exact round trip;
- no check of any grammar: a malformed value is taken or silently dropped;
- no second Via, no folded lines, no unquoting, no URI escapes;
- Call-ID and Date are left as text.

Each row is a rate over the whole corpus, the same loop for every contender, rounds
interleaved. The ratio is against sippy's typed mode (``bench/peers.py``) in the same run.

Run::

    uv run --frozen --group bench python bench/parse_floor.py [--seconds S] [--rounds N]

Decision record 0007 has the figures and what they mean for the target.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peers  # bench/ is sys.path[0] when this file runs as a script

REPO = Path(__file__).resolve().parent.parent
TARGET = 3.0

_LINE = re.compile(r"^([^:\r\n]+?)[ \t]*:[ \t]*(.*?)\r$", re.M)
_CANONICAL = {
    **dict.fromkeys(("via", "v"), "via"),
    **dict.fromkeys(("from", "f"), "from"),
    **dict.fromkeys(("to", "t"), "to"),
    **dict.fromkeys(("call-id", "i"), "call-id"),
    "cseq": "cseq",
    "max-forwards": "max-forwards",
    **dict.fromkeys(("contact", "m"), "contact"),
    **dict.fromkeys(("content-length", "l"), "content-length"),
    **dict.fromkeys(("content-type", "c"), "content-type"),
    "date": "date",
}
_VIA = re.compile(r"SIP\s*/\s*(2\.0)\s*/\s*([A-Za-z]+)\s+([^;:\s]+)(?::(\d+))?(.*)")
_PARAM = re.compile(r";([^;=]+)(?:=([^;]*))?")
_ADDRESS = re.compile(
    r'(?:"([^"]*)"\s*|([^<"]*?)\s*)?<(sips?):(?:([^@>:]+)@)?([^;>:]+)(?::(\d+))?([^>]*)>(.*)'
    r"|(sips?):(?:([^@;:]+)@)?([^;:]+)(?::(\d+))?(.*)"
)
_CSEQ = re.compile(r"(\d+)\s+(\S+)")
_MEDIA_TYPE = re.compile(r"([^/\s]+)/([^;\s]+)(.*)")


def _params(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(_PARAM.findall(text)) if text else ()


def _head(data: bytes) -> str:
    text = data.decode("utf-8", "surrogateescape")
    return text[: text.find("\r\n\r\n") + 2]


def floor(data: bytes) -> list[Any]:
    """Ten fields, as little work as the regex engine allows; no checks (see the module)."""
    head = _head(data)
    first: dict[str, str] = {}
    for name, value in _LINE.findall(head, head.find("\r\n") + 2):
        key = _CANONICAL.get(name.lower())
        if key is not None and key not in first:
            first[key] = value
    out: list[Any] = []
    if (via := first.get("via")) and (m := _VIA.match(via)):
        port = m[4]
        out.append((m[1], m[2], m[3], int(port) if port else None, _params(m[5])))
    for key in ("from", "to", "contact"):
        if (value := first.get(key)) and (m := _ADDRESS.match(value)):
            groups = m.groups()
            out.append((groups, _params(groups[6] or ""), _params(groups[7] or "")))
    if (cseq := first.get("cseq")) and (m := _CSEQ.match(cseq)):
        out.append((int(m[1]), m[2]))
    out.append(first.get("call-id"))
    for key in ("max-forwards", "content-length"):
        number = first.get(key)
        out.append(int(number) if number else None)
    if (media_type := first.get("content-type")) and (m := _MEDIA_TYPE.match(media_type)):
        out.append((m[1], m[2], _params(m[3])))
    out.append(first.get("date"))
    return out


_ADDRESS_BODY = (
    r'(?:"([^"]*)"[ \t]*|([^<"\r\n]*?)[ \t]*)?<(sips?):(?:([^@>:\r\n]+)@)?([^;>:\r\n]+)'
    r"(?::(\d+))?([^>\r\n]*)>([^\r\n]*)"
)
_ONE_PASS = re.compile(
    r"^(?:"
    r"(?:Via|v)[ \t]*:[ \t]*SIP/(2\.0)/([A-Za-z]+)[ \t]+([^;:\s]+)(?::(\d+))?([^\r\n]*)"
    rf"|(?:From|f)[ \t]*:[ \t]*{_ADDRESS_BODY}"
    rf"|(?:To|t)[ \t]*:[ \t]*{_ADDRESS_BODY}"
    rf"|(?:Contact|m)[ \t]*:[ \t]*{_ADDRESS_BODY}"
    r"|CSeq[ \t]*:[ \t]*(\d+)[ \t]+([A-Za-z]+)"
    r"|(?:Content-Type|c)[ \t]*:[ \t]*([^/\s]+)/([^;\s]+)([^\r\n]*)"
    r"|([^:\r\n]+?)[ \t]*:[ \t]*([^\r\n]*)"
    r")\r$",
    re.M | re.I,
)
#: Where each address header's groups start in a ``_ONE_PASS`` match.
_ADDRESS_AT = {"from": 5, "to": 13, "contact": 21}


def one_pass(data: bytes) -> dict[str, Any]:
    """The same fields, the typed headers taken apart by the one regex that splits the lines."""
    head = _head(data)
    out: dict[str, Any] = {}
    for g in _ONE_PASS.findall(head, head.find("\r\n") + 2):
        if g[0]:
            if "via" not in out:
                out["via"] = (g[0], g[1], g[2], int(g[3]) if g[3] else None, _params(g[4]))
            continue
        for key, at in _ADDRESS_AT.items():
            if g[at + 2]:
                port = g[at + 5]
                address = (g[at] or g[at + 1], g[at + 2], g[at + 3], g[at + 4])
                typed = (*address, int(port) if port else None)
                out.setdefault(key, (typed, _params(g[at + 6]), _params(g[at + 7])))
                break
        else:
            if g[29]:
                out.setdefault("cseq", (int(g[29]), g[30]))
            elif g[31]:
                out.setdefault("content-type", (g[31], g[32], _params(g[33])))
            elif (key := _CANONICAL.get(g[34].lower())) is not None:
                out.setdefault(key, g[35])
    for key in ("max-forwards", "content-length"):
        if key in out:
            out[key] = int(out[key])
    return out


def _rate(function: Callable[[bytes], object], messages: list[bytes], seconds: float) -> float:
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for message in messages:
            function(message)
        count += len(messages)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    corpus = Path(os.environ.get("COLUMBA_CORPUS") or REPO.parent / "shared" / "corpus")
    messages = [path.read_bytes() for path in sorted((corpus / "sip" / "im").glob("*.sip"))]
    loaded, missing = peers.load(("columba", "sippy"))
    for unavailable in missing:
        print(f"{unavailable.name}: {unavailable.reason}")
    modes = {f"{c.name} typed": c.modes["typed"] for c in loaded}
    if "sippy typed" not in modes:
        return 1
    rows: dict[str, Callable[[bytes], object]] = {
        **modes,
        "floor (no checks)": floor,
        "one-pass (no checks)": one_pass,
    }
    for function in rows.values():  # warm-up
        for message in messages:
            function(message)
    rates: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.rounds):
        for name, function in rows.items():
            rates[name].append(_rate(function, messages, args.seconds))
    baseline = statistics.median(rates["sippy typed"])
    print(f"SIP IM corpus, {len(messages)} messages; median of {args.rounds} rounds")
    print(f"{'parser':<24}{'msg/s':>10}{'µs/msg':>9}{'× sippy typed':>15}")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:<24}{rate:>10,.0f}{1e6 / rate:>9.2f}{rate / baseline:>14.2f}×")
    print(f"the target: {TARGET:.0f}× sippy typed = {1e6 / (TARGET * baseline):.2f} µs/msg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
