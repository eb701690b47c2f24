"""MCP size benchmark: bytes per message against generic and SIP-aware compression.

Measures, in one run and on the same bytes, how large MCP makes each message of the SIP IM
(``sip/im/*.sip``), SIP-C (``sipc/*.txt``) and RFC 4475 torture (``sip/torture/*.dat``)
corpora, next to the baselines of ``reference/sip-compression.md`` §3, then MCP's encode and
decode throughput, and checks the MCP issue's targets.

What is measured (ratio = Σ compressed bytes / Σ text bytes; lower is better):

* **Text form.** Each file is parsed as one datagram and every method compresses
  ``serialize(message)``, the bytes MCP promises to give back. For the corpora here that is the
  file itself, except RFC 4475 ``dblreq`` (octets past Content-Length are not part of the
  message); the report names such files. Torture files the parser refuses (or MCP cannot
  carry) are left out, with the reason.
* **MCP** stateless (``Encoder(options)``); stateful with one ``Encoder`` over the corpus in
  file order, as one connection; and stateful with a fresh ``Encoder`` per Call-ID group
  (messages of one dialog or transaction, in file order), closer to real connections. One
  table serves the whole sequence, although a real connection has one per direction.
* **Per-message baselines**: zlib -9 (RFC 1950 framing, as asked), raw DEFLATE -9, brotli -11,
  zstd -19, and raw DEFLATE -9 with the RFC 3485 SIP/SDP SigComp dictionary as preset
  dictionary (``zdict``; its SigComp state id is checked).
* **Per-connection streams**: one zstd -19 compressor over the corpus in order, flushed after
  each message (``COMPRESSOBJ_FLUSH_BLOCK``); bytes per message = what that flush emitted.
  Likewise raw DEFLATE -9 with a sync flush whose ``00 00 ff ff`` tail is dropped as RFC 7692
  permessage-deflate does. Both also per Call-ID group.
* **Held-out half.** Each corpus is split by Call-ID group (a dialog never straddles the
  halves): groups in first-appearance order are shuffled with ``random.Random(seed)`` and
  dealt, each to the half with fewer text bytes so far. Dictionaries are built from the train
  half only (zstd ``train_dictionary`` with a fixed dictionary id and ``dict_size`` a quarter
  of the train bytes, the proportion of the reference's dictionaries; the train half as a
  zstd raw-content dictionary; its last 32 KiB as a DEFLATE preset dictionary) and measured
  on the test half, next to MCP and every other method on that same half. ``--splits N``
  repeats the split with N seeds and reports the spread, because the halves are small.
* **Generated messages** (``--generated N``, 300 by default): drawn, derandomized, from the
  property tests' message strategy (``tests/protocol/mcp/strategies.py``) and kept when the
  text parser reads them back as themselves; reported like a corpus (all and held-out half),
  without a target. No MCP table was made from them, nor from the corpora: MCP's tables come
  from the protocols (``docs/protocol/mcp.md`` §13), so its "all" and held-out figures differ
  only by which messages are counted, while the trained baselines see their training half.
* **Framing** is left out everywhere: MCP's TCP length prefix and any baseline's would be the
  same. zstd frames carry no checksum and no dictionary id (the dictionary is agreed out of
  band) but keep the content size; DEFLATE uses ``memLevel`` 9.
* Every method is round-trip checked on every message (decompressed or decoded and compared
  with the text form); a mismatch is reported and the exit status is 1.
* **Throughput**: stateless encode, decode, encode+decode and stateful encode+decode (a fresh
  connection per pass) of already parsed messages (text parsing is not included), timed like
  ``bench/parse.py``: whole passes over the corpus for ``--seconds``, ``gc.collect()`` before
  each, rows interleaved round-robin over ``--rounds`` with a rotating start; median and best
  round, with the CPU (process) time per message of each row beside the wall-clock figures
  (time spent waiting for a core on a loaded machine is not CPU time). Every output of every
  timed pass is compared afterwards, untimed, with the original
  (the bytes of a stateless encode, the message of a decode). A baseline row times, in the
  same run, the text path a gateway runs anyway (``parse_message`` + ``serialize``), so that
  the figure can be read on a loaded machine.
* **Targets** (the MCP issue), each printed as met / NOT met with the measured value:
  stateless ratio ≤ 0.15 on SIP (``im``) and ≤ 0.20 on SIP-C, on all messages and on the
  held-out half; stateful ratio ≤ 0.08 on both, one connection and per Call-ID; stateless
  encode+decode ≥ 50,000 msg/s over all corpora (median of the rounds).

Run::

    uv run --frozen --group bench python bench/mcp_size.py [--quick] [--json] [--seed N] …

Without the ``bench`` group, zstd and brotli rows are reported as skipped with the reason.
The corpus is ``../shared/corpus`` from the repository root, or ``$COLUMBA_CORPUS``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from columba.protocol.errors import ProtocolError
from columba.protocol.mcp import DEFAULT_LIMITS, Decoder, Encoder, McpOptions
from columba.protocol.sip import Message, parse_message, serialize

REPO = Path(__file__).resolve().parent.parent
CORPUS_ENV = "COLUMBA_CORPUS"
#: Corpus name → (folder under the corpus root, file pattern, what the targets call it).
CORPORA = {
    "im": ("sip/im", "*.sip", "SIP"),
    "sipc": ("sipc", "*.txt", "SIP-C"),
    "torture": ("sip/torture", "*.dat", "SIP torture"),
}
DICTIONARY = "dictionaries/rfc3485-dictionary.bin"
#: RFC 3485 §3 / RFC 3320 §9.4.9: SHA-1 over state_length, address 0, instruction 0,
#: minimum access length 6 and the 4836-byte dictionary.
RFC3485_STATE_ID = "fbe507dfe5e6aa5af2abb914ceaa05f99ce61ba5"
DEFAULT_TABLE_SIZE = 4096  # HPACK's default, as ``columba mcp stats --stateful``
ZSTD_LEVEL = 19
ZSTD_DICT_ID = 0x4D4350  # "MCP": train_dictionary draws a random id when given 0
DEFLATE_WINDOW = 32 * 1024
SYNC_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 §7.2.1
DEFAULTS: dict[str, Any] = {
    "seconds": 0.5,
    "rounds": 5,
    "limit": None,
    "splits": 5,
    "generated": 300,
}
QUICK: dict[str, Any] = {"seconds": 0.05, "rounds": 1, "limit": 12, "splits": 1, "generated": 20}
#: Messages no table was ever shown: drawn from the property tests' message strategy.
GENERATED = "generated"
GENERATED_SOURCE = ("tests/protocol/mcp/strategies.py", "messages()")
#: The MCP issue's ratio targets: (mode, corpus, table "all" or "held-out", row, ratio ≤).
RATIO_TARGETS = (
    ("stateless", "im", "all", "mcp-stateless", 0.15),
    ("stateless", "im", "held-out", "mcp-stateless", 0.15),
    ("stateless", "sipc", "all", "mcp-stateless", 0.20),
    ("stateless", "sipc", "held-out", "mcp-stateless", 0.20),
    ("stateful", "im", "all", "mcp-stateful-connection", 0.08),
    ("stateful", "im", "all", "mcp-stateful-call-id", 0.08),
    ("stateful", "sipc", "all", "mcp-stateful-connection", 0.08),
    ("stateful", "sipc", "all", "mcp-stateful-call-id", 0.08),
)
SPEED_TARGET = ("all", "encode+decode", 50_000.0)
#: The same-run baseline of the throughput table: the text path a gateway runs anyway.
BASELINE_MODE = "baseline: text parse+serialize"


class Skipped(Exception):
    """A method cannot run here (a compressor not installed, training failed)."""


class RoundTripError(Exception):
    """A method did not give back the text form: its figure would be a lie."""


# -- corpus ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One message: its file, parsed form, the text every method compresses, its group."""

    name: str
    message: Message
    text: bytes
    group: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Corpus:
    name: str
    folder: str
    pattern: str
    files: int
    items: tuple[Item, ...]
    excluded: tuple[tuple[str, str], ...]  # (file, reason)
    rewritten: tuple[str, ...]  # files whose text form differs from the file
    digest: str

    @property
    def size(self) -> int:
        return sum(len(item.text) for item in self.items)


def corpus_root() -> Path:
    """The shared corpus folder: ``$COLUMBA_CORPUS`` or ``../shared/corpus`` from the repo."""
    override = os.environ.get(CORPUS_ENV)
    return Path(override) if override else REPO.parent / "shared" / "corpus"


def _group_of(message: Message, name: str) -> str:
    try:
        values = message.get_all("call-id")
    except (ProtocolError, ValueError):
        values = []
    # Without a Call-ID a message is a group of its own.
    return f"call-id:{values[0].strip()}" if values else f"file:{name}"


def load_corpus(root: Path, name: str, limit: int | None, options: McpOptions) -> Corpus:
    """Parse every file; keep those MCP can carry (the torture set has some it cannot)."""
    folder, pattern, _ = CORPORA[name]
    paths = sorted((root / folder).glob(pattern))[:limit]
    digest = hashlib.sha256()
    items: list[Item] = []
    excluded: list[tuple[str, str]] = []
    rewritten: list[str] = []
    encoder = Encoder(options)
    for path in paths:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        try:
            message = parse_message(data, datagram=True)
            encoder.encode(message)
        except ProtocolError as exc:
            excluded.append((path.name, f"{type(exc).__name__}: {exc}"))
            continue
        text = serialize(message)
        if text != data:
            rewritten.append(path.name)
        items.append(
            Item(name=path.name, message=message, text=text, group=_group_of(message, path.name))
        )
    return Corpus(
        name=name,
        folder=folder,
        pattern=pattern,
        files=len(paths),
        items=tuple(items),
        excluded=tuple(excluded),
        rewritten=tuple(rewritten),
        digest=digest.hexdigest(),
    )


def generated_corpus(count: int, options: McpOptions) -> tuple[Corpus | None, str]:
    """``count`` messages drawn (derandomized) from the property tests' strategy, those the
    text parser reads back as themselves; or ``None`` and why (hypothesis not installed).

    They are random on purpose (random tokens, names, separators, bodies, CJK, look-alikes of
    every typed form): no table was fitted to them, which is the point of measuring them.
    """
    try:
        from hypothesis import HealthCheck, Phase, given, settings

        sys.path.insert(0, str(REPO))
        try:
            properties = importlib.import_module("tests.protocol.mcp.strategies")
        finally:
            sys.path.remove(str(REPO))
    except ImportError as exc:
        return None, f"skipped: {exc} (uv run --frozen --group dev …)"
    drawn: list[Message] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(properties.messages())
    def collect(message: Message) -> None:
        drawn.append(message)

    collect()
    digest = hashlib.sha256()
    items: list[Item] = []
    encoder = Encoder(options)
    for position, message in enumerate(drawn):
        carried = properties.carried(message)
        if carried is None:
            continue
        try:
            encoder.encode(carried)
        except ProtocolError:
            continue
        text = serialize(carried)
        digest.update(text + b"\0")
        name = f"generated-{position:04d}"
        items.append(Item(name=name, message=carried, text=text, group=_group_of(carried, name)))
    return Corpus(
        name=GENERATED,
        folder=GENERATED_SOURCE[0],
        pattern=GENERATED_SOURCE[1],
        files=len(drawn),
        items=tuple(items),
        excluded=(),
        rewritten=(),
        digest=digest.hexdigest(),
    ), ""


def groups_of(items: Sequence[Item]) -> dict[str, list[int]]:
    """Group → positions in ``items``, groups in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        groups.setdefault(item.group, []).append(position)
    return groups


def split(items: Sequence[Item], seed: int) -> tuple[list[Item], list[Item]]:
    """(train, test): whole Call-ID groups, shuffled by ``seed``, balanced by text bytes."""
    groups = groups_of(items)
    keys = list(groups)
    random.Random(seed).shuffle(keys)
    sides: tuple[set[int], set[int]] = (set(), set())
    sizes = [0, 0]
    for key in keys:
        side = 0 if sizes[0] <= sizes[1] else 1
        sides[side].update(groups[key])
        sizes[side] += sum(len(items[p].text) for p in groups[key])
    train = [item for p, item in enumerate(items) if p in sides[0]]
    test = [item for p, item in enumerate(items) if p in sides[1]]
    return train, test


# -- methods ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Env:
    """What the methods need: MCP options, the optional compressors, the SigComp dictionary."""

    options: McpOptions
    table_size: int
    zstd: ModuleType | None
    brotli: ModuleType | None
    missing: dict[str, str]  # module → why it is not there
    rfc3485: bytes | None
    rfc3485_reason: str
    #: Compressors kept between streams: a zstd -19 context costs ~50 ms to allocate, and
    #: ``compressobj()`` resets it to a new frame anyway.
    cache: dict[str, Any] = field(default_factory=dict)

    def need(self, module: str) -> ModuleType:
        found = getattr(self, module)
        if found is None:
            raise Skipped(self.missing[module])
        assert isinstance(found, ModuleType)
        return found


#: A table's outcome per method: file name → bytes, or None and why it was skipped.
Result = tuple[dict[str, int] | None, str | None]
#: A method: (env, items to measure, train items) → (bytes per item, note).
MethodFn = Callable[[Env, Sequence[Item], Sequence[Item]], tuple[list[int], str | None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Method:
    """One way of sending the messages.

    ``scope`` says what a message's size depends on: ``message`` (itself), ``group`` (its
    Call-ID group), ``connection`` (every earlier message measured) or ``trained`` (the train
    half). The first two give the same sizes on any subset made of whole groups, so the
    held-out table reuses them; the last two are measured again on the test half.
    """

    key: str
    label: str
    scope: str
    run: MethodFn


def _check(method: str, item: Item, back: bytes) -> None:
    if back != item.text:
        raise RoundTripError(f"{method}: {item.name} did not round-trip")


def _mcp(env: Env, items: Sequence[Item], table_size: int, key: str) -> list[int]:
    encoder = Encoder(env.options, table_size=table_size)
    decoder = Decoder(env.options, table_size=table_size)
    sizes = []
    for item in items:
        data = encoder.encode(item.message)
        _check(key, item, serialize(decoder.decode(data)))
        sizes.append(len(data))
    return sizes


def mcp_stateless(env: Env, items: Sequence[Item], _: Sequence[Item]) -> tuple[list[int], None]:
    return _mcp(env, items, 0, "mcp-stateless"), None


def mcp_connection(env: Env, items: Sequence[Item], _: Sequence[Item]) -> tuple[list[int], None]:
    return _mcp(env, items, env.table_size, "mcp-stateful-connection"), None


def per_group(inner: MethodFn) -> MethodFn:
    """``inner`` run afresh on each Call-ID group (in file order), sizes in ``items`` order."""

    def run(env: Env, items: Sequence[Item], train: Sequence[Item]) -> tuple[list[int], None]:
        sizes = [0] * len(items)
        for positions in groups_of(items).values():
            group_sizes, _ = inner(env, [items[p] for p in positions], train)
            for position, size in zip(positions, group_sizes, strict=True):
                sizes[position] = size
        return sizes, None

    return run


def zlib9(_: Env, items: Sequence[Item], __: Sequence[Item]) -> tuple[list[int], None]:
    sizes = []
    for item in items:
        data = zlib.compress(item.text, 9)
        _check("zlib-9", item, zlib.decompress(data))
        sizes.append(len(data))
    return sizes, None


def _deflate(items: Sequence[Item], zdict: bytes, key: str) -> list[int]:
    sizes = []
    for item in items:
        if zdict:
            c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=zdict)
            d = zlib.decompressobj(-15, zdict=zdict)
        else:
            c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
            d = zlib.decompressobj(-15)
        data = c.compress(item.text) + c.flush()
        _check(key, item, d.decompress(data) + d.flush())
        sizes.append(len(data))
    return sizes


def deflate9(_: Env, items: Sequence[Item], __: Sequence[Item]) -> tuple[list[int], None]:
    return _deflate(items, b"", "deflate-9"), None


def deflate9_rfc3485(env: Env, items: Sequence[Item], _: Sequence[Item]) -> tuple[list[int], None]:
    if env.rfc3485 is None:
        raise Skipped(env.rfc3485_reason)
    return _deflate(items, env.rfc3485, "deflate-9-rfc3485"), None


def deflate9_train(_: Env, items: Sequence[Item], train: Sequence[Item]) -> tuple[list[int], str]:
    zdict = b"".join(item.text for item in train)[-DEFLATE_WINDOW:]
    if not zdict:
        raise Skipped("empty train half")
    return _deflate(items, zdict, "deflate-9-train-text"), f"preset dictionary {len(zdict):,} B"


def brotli11(env: Env, items: Sequence[Item], _: Sequence[Item]) -> tuple[list[int], None]:
    brotli = env.need("brotli")
    sizes = []
    for item in items:
        data = brotli.compress(item.text, quality=11)
        _check("brotli-11", item, brotli.decompress(data))
        sizes.append(len(data))
    return sizes, None


def _zstd_frames(env: Env, items: Sequence[Item], key: str, zdict: Any = None) -> list[int]:
    zstd = env.need("zstd")
    c = zstd.ZstdCompressor(
        level=ZSTD_LEVEL, dict_data=zdict, write_checksum=False, write_dict_id=False
    )
    d = zstd.ZstdDecompressor(dict_data=zdict)
    sizes = []
    for item in items:
        data = c.compress(item.text)
        _check(key, item, d.decompress(data))
        sizes.append(len(data))
    return sizes


def zstd19(env: Env, items: Sequence[Item], _: Sequence[Item]) -> tuple[list[int], None]:
    return _zstd_frames(env, items, "zstd-19"), None


def zstd19_trained(env: Env, items: Sequence[Item], train: Sequence[Item]) -> tuple[list[int], str]:
    zstd = env.need("zstd")
    samples = [item.text for item in train]
    dict_size = sum(map(len, samples)) // 4
    try:
        zdict = zstd.train_dictionary(dict_size, samples, dict_id=ZSTD_DICT_ID, threads=0)
    except zstd.ZstdError as exc:
        raise Skipped(f"dictionary training failed on {len(samples)} samples: {exc}") from None
    size = len(zdict.as_bytes())
    sizes = _zstd_frames(env, items, "zstd-19-trained", zdict)
    return sizes, f"trained dictionary {size:,} B (asked {dict_size:,}; k={zdict.k}, d={zdict.d})"


def zstd19_raw_dict(
    env: Env, items: Sequence[Item], train: Sequence[Item]
) -> tuple[list[int], str]:
    zstd = env.need("zstd")
    content = b"".join(item.text for item in train)
    if not content:
        raise Skipped("empty train half")
    zdict = zstd.ZstdCompressionDict(content, dict_type=zstd.DICT_TYPE_RAWCONTENT)
    return _zstd_frames(env, items, "zstd-19-raw-dict", zdict), f"dictionary {len(content):,} B"


def zstd_stream(env: Env, items: Sequence[Item], _: Sequence[Item]) -> tuple[list[int], None]:
    zstd = env.need("zstd")
    if "zstd-stream" not in env.cache:
        env.cache["zstd-stream"] = (
            zstd.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=False),
            zstd.ZstdDecompressor(),
        )
    compressor, decompressor = env.cache["zstd-stream"]
    c, d = compressor.compressobj(), decompressor.decompressobj()
    sizes = []
    for item in items:
        data = c.compress(item.text) + c.flush(zstd.COMPRESSOBJ_FLUSH_BLOCK)
        _check("zstd-19-stream", item, d.decompress(data))
        sizes.append(len(data))
    return sizes, None


def deflate_stream(_: Env, items: Sequence[Item], __: Sequence[Item]) -> tuple[list[int], None]:
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    d = zlib.decompressobj(-15)
    sizes = []
    for item in items:
        data = c.compress(item.text) + c.flush(zlib.Z_SYNC_FLUSH)
        if not data.endswith(SYNC_TAIL):
            raise RoundTripError(f"deflate-9-stream: {item.name}: sync flush without its tail")
        data = data[: -len(SYNC_TAIL)]
        _check("deflate-9-stream", item, d.decompress(data + SYNC_TAIL))
        sizes.append(len(data))
    return sizes, None


def methods(table_size: int) -> tuple[Method, ...]:
    """Every method, in the order the tables list them."""
    table = f"{table_size:,} B table"
    return (
        Method(key="mcp-stateless", label="MCP stateless", scope="message", run=mcp_stateless),
        Method(
            key="mcp-stateful-connection",
            label=f"MCP stateful, one connection ({table})",
            scope="connection",
            run=mcp_connection,
        ),
        Method(
            key="mcp-stateful-call-id",
            label=f"MCP stateful, per Call-ID ({table})",
            scope="group",
            run=per_group(mcp_connection),
        ),
        Method(key="zlib-9", label="zlib -9, per message", scope="message", run=zlib9),
        Method(key="deflate-9", label="raw DEFLATE -9, per message", scope="message", run=deflate9),
        Method(key="brotli-11", label="brotli -11, per message", scope="message", run=brotli11),
        Method(key="zstd-19", label="zstd -19, per message", scope="message", run=zstd19),
        Method(
            key="deflate-9-rfc3485",
            label="DEFLATE -9 + RFC 3485 dictionary",
            scope="message",
            run=deflate9_rfc3485,
        ),
        Method(
            key="zstd-19-trained",
            label="zstd -19 + dictionary trained on train half",
            scope="trained",
            run=zstd19_trained,
        ),
        Method(
            key="zstd-19-raw-dict",
            label="zstd -19 + train half as raw dictionary",
            scope="trained",
            run=zstd19_raw_dict,
        ),
        Method(
            key="deflate-9-train-text",
            label="DEFLATE -9 + train half as preset dict",
            scope="trained",
            run=deflate9_train,
        ),
        Method(
            key="zstd-19-stream-connection",
            label="zstd -19 stream, one connection",
            scope="connection",
            run=zstd_stream,
        ),
        Method(
            key="zstd-19-stream-call-id",
            label="zstd -19 stream, per Call-ID",
            scope="group",
            run=per_group(zstd_stream),
        ),
        Method(
            key="deflate-9-stream-connection",
            label="DEFLATE -9 stream, one connection",
            scope="connection",
            run=deflate_stream,
        ),
        Method(
            key="deflate-9-stream-call-id",
            label="DEFLATE -9 stream, per Call-ID",
            scope="group",
            run=per_group(deflate_stream),
        ),
    )


# -- size tables -----------------------------------------------------------------------------------


def _row(
    key: str,
    label: str,
    sizes: Sequence[int] | None,
    texts: Sequence[int],
    *,
    reason: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {"method": key, "label": label, "available": sizes is not None}
    if sizes is None:
        return row | {"reason": reason}
    total, text_total = sum(sizes), sum(texts)
    return row | {
        "messages": len(sizes),
        "total_bytes": total,
        "bytes_per_message": total / len(sizes) if sizes else None,
        "median_bytes": statistics.median(sizes) if sizes else None,
        "ratio": total / text_total if text_total else None,
        "median_ratio": statistics.median(s / t for s, t in zip(sizes, texts, strict=True))
        if sizes
        else None,
        "note": note,
    }


def measure_sizes(
    env: Env,
    all_methods: Sequence[Method],
    items: Sequence[Item],
    train: Sequence[Item],
    reuse: dict[str, Result] | None,
    errors: list[str],
) -> tuple[list[dict[str, Any]], dict[str, Result]]:
    """One table: the text row, then every method on ``items``.

    ``reuse`` holds the all-message results for the held-out table: ``message`` and ``group``
    methods are looked up there by file name instead of measured again (the halves are made
    of whole Call-ID groups, so the sizes are the same). Returns the rows and this table's
    results by method key.
    """
    texts = [len(item.text) for item in items]
    rows = [_row("text", "text form (what MCP gives back)", texts, texts)]
    results: dict[str, Result] = {}
    held_out = reuse is not None
    for method in all_methods:
        if method.scope == "trained" and not held_out:
            continue
        note: str | None = None
        try:
            if held_out and method.scope in ("message", "group"):
                assert reuse is not None
                by_name, reason = reuse[method.key]
                if by_name is None:
                    raise Skipped(reason or "not measured")
                sizes = [by_name[item.name] for item in items]
            else:
                sizes, note = method.run(env, items, train)
            results[method.key] = (
                {item.name: size for item, size in zip(items, sizes, strict=True)},
                None,
            )
            rows.append(_row(method.key, method.label, sizes, texts, note=note))
        except Skipped as exc:
            results[method.key] = (None, str(exc))
            rows.append(_row(method.key, method.label, None, texts, reason=str(exc)))
        except (RoundTripError, ProtocolError) as exc:
            errors.append(f"{method.key}: {exc}")
            results[method.key] = (None, f"FAILED: {exc}")
            rows.append(_row(method.key, method.label, None, texts, reason=f"FAILED: {exc}"))
    return rows, results


def _ratio_of(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    for row in rows:
        if row["method"] == key and row["available"]:
            ratio: float | None = row["ratio"]
            return ratio
    return None


#: The held-out rows ``--splits`` repeats over several seeds.
SPREAD_KEYS = (
    "mcp-stateless",
    "mcp-stateful-call-id",
    "zstd-19-trained",
    "zstd-19-raw-dict",
    "deflate-9-train-text",
)


def split_spread(
    env: Env,
    all_methods: Sequence[Method],
    corpus: Corpus,
    reuse: dict[str, Result],
    seeds: Sequence[int],
    errors: list[str],
) -> list[dict[str, Any]]:
    """The held-out ratio of a few methods over several seeds: how much the split matters."""
    chosen = [m for m in all_methods if m.key in SPREAD_KEYS]
    ratios: dict[str, list[float]] = {m.key: [] for m in chosen}
    for seed in seeds:
        train, test = split(corpus.items, seed)
        if not train or not test:
            continue
        rows, _ = measure_sizes(env, chosen, test, train, reuse, errors)
        for method in chosen:
            ratio = _ratio_of(rows, method.key)
            if ratio is not None:
                ratios[method.key].append(ratio)
    return [
        {
            "method": m.key,
            "label": m.label,
            "seeds": list(seeds),
            "ratios": ratios[m.key],
            "min": min(ratios[m.key], default=None),
            "median": statistics.median(ratios[m.key]) if ratios[m.key] else None,
            "max": max(ratios[m.key], default=None),
        }
        for m in chosen
    ]


def corpus_report(
    env: Env, all_methods: Sequence[Method], corpus: Corpus, seed: int, splits: int
) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    items = corpus.items
    rows, reuse = measure_sizes(env, all_methods, items, (), None, errors)
    train, test = split(items, seed)
    held_out: dict[str, Any]
    if train and test:
        held_rows, _ = measure_sizes(env, all_methods, test, train, reuse, errors)
        held_out = {
            "seed": seed,
            "train": _half(train),
            "test": _half(test),
            "rows": held_rows,
        }
    else:
        held_out = {"seed": seed, "reason": "fewer than two Call-ID groups: no held-out half"}
    seeds = list(range(seed, seed + splits))
    spread = split_spread(env, all_methods, corpus, reuse, seeds, errors) if splits > 1 else []
    folder = f"{corpus.folder}/{corpus.pattern}"
    return {
        "name": corpus.name,
        "files": folder,
        "file_count": corpus.files,
        "messages": len(items),
        "text_bytes": corpus.size,
        "median_text_bytes": statistics.median(len(i.text) for i in items) if items else None,
        "groups": len(groups_of(items)),
        "sha256": corpus.digest,
        "excluded": [{"file": f, "reason": r} for f, r in corpus.excluded],
        "rewritten": list(corpus.rewritten),
        "all": rows,
        "held_out": held_out,
        "split_spread": spread,
    }, errors


def _half(items: Sequence[Item]) -> dict[str, Any]:
    return {
        "messages": len(items),
        "groups": len(groups_of(items)),
        "text_bytes": sum(len(i.text) for i in items),
    }


# -- throughput ------------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Speed:
    """One (corpus, mode) throughput measurement and its rounds."""

    corpus: str
    mode: str
    messages: tuple[Message, ...]
    run: Callable[[], list[Any]]
    expected: Sequence[Any]
    rounds: list[float] = field(default_factory=list)
    #: CPU (process) microseconds per message in each round: what a loaded machine distorts
    #: least, since time spent waiting for a core is not counted.
    cpu_us: list[float] = field(default_factory=list)
    checked: int = 0
    mismatches: int = 0


def speed_rows(corpora: Sequence[Corpus], options: McpOptions, table_size: int) -> list[Speed]:
    named = [
        (c.name, tuple(i.message for i in c.items), tuple(i.text for i in c.items)) for c in corpora
    ]
    if len(named) > 1:
        named.append(
            (
                "all",
                tuple(m for _, ms, _ in named for m in ms),
                tuple(t for *_, ts in named for t in ts),
            )
        )
    rows = []
    for name, messages, texts in named:
        if not messages:
            continue
        encoder, decoder = Encoder(options), Decoder(options)
        encoded = tuple(encoder.encode(m) for m in messages)

        def encode(e: Encoder = encoder, ms: tuple[Message, ...] = messages) -> list[Any]:
            return [e.encode(m) for m in ms]

        def decode(d: Decoder = decoder, bs: tuple[bytes, ...] = encoded) -> list[Any]:
            return [d.decode(b) for b in bs]

        def both(
            e: Encoder = encoder, d: Decoder = decoder, ms: tuple[Message, ...] = messages
        ) -> list[Any]:
            return [d.decode(e.encode(m)) for m in ms]

        def stateful(ms: tuple[Message, ...] = messages) -> list[Any]:
            e = Encoder(options, table_size=table_size)
            d = Decoder(options, table_size=table_size)
            return [d.decode(e.encode(m)) for m in ms]

        def text(ts: tuple[bytes, ...] = texts) -> list[Any]:
            return [serialize(parse_message(t, datagram=True)) for t in ts]

        for mode, run, expected in (
            ("encode", encode, encoded),
            ("decode", decode, messages),
            ("encode+decode", both, messages),
            (f"encode+decode stateful ({table_size:,} B)", stateful, messages),
            (BASELINE_MODE, text, texts),
        ):
            rows.append(
                Speed(corpus=name, mode=mode, messages=messages, run=run, expected=expected)
            )
    return rows


def measure_speed(
    rows: Sequence[Speed], *, rounds: int, seconds: float, progress: TextIO | None
) -> None:
    """Time every row, interleaved round-robin; then check every output of every pass."""
    for r in range(rounds if rows else 0):
        if progress is not None:
            print(f"throughput round {r + 1}/{rounds} …", file=progress, flush=True)
        # Rotate the starting point so no row always runs first (or after the slowest).
        shift = r % len(rows)
        for row in [*rows[shift:], *rows[:shift]]:
            gc.collect()
            outputs: list[list[Any]] = []
            start = time.perf_counter()
            cpu_start = time.process_time()
            deadline = start + seconds
            while True:
                outputs.append(row.run())
                end = time.perf_counter()
                if end >= deadline:
                    break
            cpu = time.process_time() - cpu_start
            count = len(outputs) * len(row.messages)
            row.rounds.append(count / (end - start))
            row.cpu_us.append(1e6 * cpu / count)
            for output in outputs:  # untimed: every message of every pass
                row.checked += len(output)
                row.mismatches += sum(
                    got != want for got, want in zip(output, row.expected, strict=True)
                )


# -- environment and report --------------------------------------------------------------------


def _import(name: str) -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module(name), ""
    except ImportError:
        return None, f"{name} not installed (uv run --frozen --group bench …)"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return None


def _source_digest() -> str:
    """SHA-256 of the protocol sources: the code measured, even with uncommitted edits."""
    digest = hashlib.sha256()
    base = REPO / "src" / "columba" / "protocol"
    for path in sorted(base.rglob("*.py")):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _environment(env: Env) -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    status = _git("status", "--porcelain", "--", "src")
    versions = {
        "columba": _version("columba"),
        "zstandard": _version("zstandard") if env.zstd else "not installed",
        "libzstd": ".".join(map(str, env.zstd.ZSTD_VERSION)) if env.zstd else "-",
        "brotli": _version("brotli") if env.brotli else "not installed",
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
    }
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
        "git_commit": _git("rev-parse", "--short=12", "HEAD"),
        "src_modified": None if status is None else bool(status),
        "protocol_sources_sha256": _source_digest(),
    }


def _load_dictionary(root: Path) -> tuple[bytes | None, dict[str, Any]]:
    path = root / DICTIONARY
    if not path.is_file():
        return None, {"path": str(path), "reason": f"RFC 3485 dictionary not found at {path}"}
    data = path.read_bytes()
    header = len(data).to_bytes(2, "big") + b"\0\0\0\0\0\x06"
    state_id = hashlib.sha1(header + data).hexdigest()
    info = {"path": str(path), "bytes": len(data), "state_id": state_id}
    if state_id != RFC3485_STATE_ID:
        return None, info | {"reason": f"state id {state_id} is not RFC 3485's"}
    return data, info | {"reason": None}


def _target_verdicts(
    reports: Sequence[dict[str, Any]], speeds: Sequence[Speed], table_size: int
) -> list[dict[str, Any]]:
    by_name = {r["name"]: r for r in reports}
    verdicts = []
    for kind, corpus, table, key, limit in RATIO_TARGETS:
        report = by_name.get(corpus, {"all": [], "held_out": {}})
        rows = report["all"] if table == "all" else report["held_out"].get("rows", [])
        row = next((r for r in rows if r["method"] == key), None)
        value = row["ratio"] if row and row["available"] else None
        scope = {
            "mcp-stateless": "",
            "mcp-stateful-connection": f", one connection, {table_size:,} B table",
            "mcp-stateful-call-id": f", per Call-ID group, {table_size:,} B table",
        }[key]
        where = f"{corpus}, {'all' if table == 'all' else 'held-out half'}"
        if row is not None and row["available"]:
            where += f", {row['messages']} msgs"
        name = f"MCP {kind} ratio ≤ {limit:.2f} on {CORPORA[corpus][2]} ({where}{scope})"
        verdicts.append(_verdict(name, value, limit, lower=True, spec=".3f"))
    corpus, mode, floor = SPEED_TARGET
    speed = next((s for s in speeds if (s.corpus, s.mode) == (corpus, mode)), None)
    if speed is None and len(reports) == 1:  # one corpus: no "all" row, judge on that one
        speed = next((s for s in speeds if s.mode == mode), None)
    value = statistics.median(speed.rounds) if speed and speed.rounds else None
    where = "" if speed is None else f"{speed.corpus}, {len(speed.messages)} msgs, "
    name = f"MCP encode+decode ≥ {floor:,.0f} msg/s ({where}stateless, median of rounds)"
    verdict = _verdict(name, value, floor, lower=False, spec=",.0f", unit=" msg/s")
    if speed is not None and speed.rounds:
        verdict["verdict"] += f" (best round {max(speed.rounds):,.0f})"
        base = next(
            (b for b in speeds if (b.corpus, b.mode) == (speed.corpus, BASELINE_MODE)), None
        )
        if base is not None and base.rounds and value:
            baseline = statistics.median(base.rounds)
            verdict["baseline_msgs_per_s"] = baseline
            verdict["verdict"] += (
                f"; same run, text parse+serialize {baseline:,.0f} msg/s, MCP at "
                f"{value / baseline:.3f}× of it"
            )
    verdicts.append(verdict)
    return verdicts


def _verdict(
    name: str, value: float | None, limit: float, *, lower: bool, spec: str, unit: str = ""
) -> dict[str, Any]:
    if value is None:
        return {"target": name, "value": None, "met": None, "verdict": f"{name}: not measured"}
    met = value <= limit if lower else value >= limit
    text = f"{name}: {format(value, spec)}{unit} → {'met' if met else 'NOT met'}"
    return {"target": name, "value": value, "limit": limit, "met": met, "verdict": text}


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


TABLE_HEADER = (
    f"{'method':<46} {'msgs':>5} {'total B':>9} {'B/msg':>8} {'median B':>9} {'ratio':>6} "
    f"{'med ratio':>9}"
)


def _print_table(rows: Sequence[dict[str, Any]], out: TextIO) -> None:
    print(TABLE_HEADER + "\n" + "-" * len(TABLE_HEADER), file=out)
    notes = []
    for row in rows:
        if not row["available"]:
            print(f"{row['label']:<46} skipped: {row['reason']}", file=out)
            continue
        print(
            f"{row['label']:<46} {row['messages']:>5} {row['total_bytes']:>9,} "
            f"{_fmt(row['bytes_per_message'], ',.1f'):>8} {_fmt(row['median_bytes'], ',.0f'):>9} "
            f"{_fmt(row['ratio'], '.3f'):>6} {_fmt(row['median_ratio'], '.3f'):>9}",
            file=out,
        )
        if row.get("note"):
            notes.append(f"  {row['method']}: {row['note']}")
    for note in notes:
        print(note, file=out)


def _print_text(report: dict[str, Any], out: TextIO) -> None:
    env, s = report["environment"], report["settings"]
    v = env["versions"]
    print(
        f"MCP size benchmark: {env['python']}, {env['cpu']} ×{env['cpus']}, load "
        f"{' '.join(f'{x:.2f}' for x in env['loadavg'] or [])}",
        file=out,
    )
    modified = {None: "?", True: " (src has uncommitted changes)", False: ""}[env["src_modified"]]
    print(
        f"columba {v['columba']} at {env['git_commit'] or '?'}{modified}, protocol sources "
        f"sha256 {env['protocol_sources_sha256'][:16]}; zstandard {v['zstandard']} "
        f"(libzstd {v['libzstd']}), brotli {v['brotli']}, zlib {v['zlib']}",
        file=out,
    )
    domains = ", ".join(s["domains"]) or "none (built-in table only)"
    print(
        f"settings: split seed {s['seed']}, {s['splits']} split(s) for the spread, MCP table "
        f"{s['table_size']:,} B, extra MCP domains: {domains}, zstd level {ZSTD_LEVEL}, "
        f"limit {s['limit'] or 'none'}{', quick' if s['quick'] else ''}",
        file=out,
    )
    d = report["dictionary"]
    print(
        f"corpus: {report['corpus_root']}; RFC 3485 dictionary: "
        + (
            f"{d['bytes']:,} B, SigComp state id {d['state_id'][:8]}…{d['state_id'][-4:]} ok"
            if d.get("reason") is None
            else f"unusable: {d['reason']}"
        ),
        file=out,
    )
    print(
        "ratio = Σ method bytes / Σ text bytes; med ratio = median of per-message ratios; "
        "framing excluded; every row round-trip checked on every message.",
        file=out,
    )
    for c in report["corpora"]:
        print(
            f"\n== {c['name']}: {c['files']}: {c['messages']} of {c['file_count']} files, "
            f"{c['text_bytes']:,} B text (median {_fmt(c['median_text_bytes'], ',.0f')} B), "
            f"{c['groups']} Call-ID groups, sha256 {c['sha256'][:16]} ==",
            file=out,
        )
        if c["excluded"]:
            print(
                f"left out ({len(c['excluded'])}: parser refuses, or MCP cannot carry): "
                + ", ".join(e["file"] for e in c["excluded"]),
                file=out,
            )
        if c["rewritten"]:
            print(
                "text form differs from the file (octets the parser does not keep): "
                + ", ".join(c["rewritten"]),
                file=out,
            )
        _print_table(c["all"], out)
        h = c["held_out"]
        if "rows" not in h:
            print(f"\nheld-out half: {h['reason']}", file=out)
            continue
        tr, te = h["train"], h["test"]
        print(
            f"\n{c['name']} held-out half (seed {h['seed']}): measured on {te['messages']} msgs "
            f"/ {te['groups']} groups / {te['text_bytes']:,} B; dictionaries from the other "
            f"{tr['messages']} msgs / {tr['groups']} groups / {tr['text_bytes']:,} B",
            file=out,
        )
        _print_table(h["rows"], out)
        if c["split_spread"]:
            seeds = c["split_spread"][0]["seeds"]
            print(
                f"held-out ratio over {len(seeds)} splits (seeds {seeds[0]}–{seeds[-1]}): "
                "min / median / max",
                file=out,
            )
            for sp in c["split_spread"]:
                if sp["ratios"]:
                    partial = len(sp["ratios"]) < len(seeds)
                    print(
                        f"  {sp['label']:<44} {sp['min']:.3f} / {sp['median']:.3f} / "
                        f"{sp['max']:.3f}"
                        + (f" ({len(sp['ratios'])} splits measured)" if partial else ""),
                        file=out,
                    )
    if report["throughput"]:
        print(
            f"\nMCP throughput: parsed messages in, {s['rounds']} round(s) × {s['seconds']:g} s "
            "per row, interleaved; every output of every pass checked (untimed)",
            file=out,
        )
        header = (
            f"{'corpus':<8} {'mode':<32} {'msgs':>5} {'msg/s median':>13} {'best':>9} "
            f"{'µs/msg':>8} {'CPU µs':>8} {'checked':>9} {'bad':>4}"
        )
        print(header + "\n" + "-" * len(header), file=out)
        for t in report["throughput"]:
            median = t["msgs_per_s_median"]
            print(
                f"{t['corpus']:<8} {t['mode']:<32} {t['messages']:>5} {median:>13,.0f} "
                f"{t['msgs_per_s_best']:>9,.0f} {1e6 / median:>8,.1f} "
                f"{t['cpu_us_per_msg_median']:>8,.1f} {t['checked']:>9,} "
                f"{t['mismatches']:>4}",
                file=out,
            )
    print("\ntargets:", file=out)
    for t in report["targets"]:
        print(f"  {t['verdict']}", file=out)
    for note in report["notes"]:
        print(f"note: {note}", file=out)
    for error in report["errors"]:
        print(f"ERROR: {error}", file=out)


NOTES = (
    "'one connection' rows run one MCP table (or one stream) over the whole corpus, both "
    "directions mixed; a real connection has one per direction and carries one client's "
    "dialogs, so its figure likely lies between the 'one connection' and 'per Call-ID' rows",
    "streaming zstd -19 of unknown length gets a 2^23-byte window, i.e. megabytes per "
    "connection; a server holding many connections would cap it (no difference on these "
    "small corpora, every one smaller than the window)",
    "the torture set has no target: its messages are unlike one another on purpose",
    "'generated' messages are drawn (derandomized) from the property tests' strategy and kept "
    "when the text parser reads them back as themselves ('N of M files' = kept of drawn): "
    "random tokens, separators, CJK, look-alikes of every typed form; no table, word list or "
    "dictionary of MCP was made from them; no target",
    "throughput starts from parsed messages and ends at decoded ones; the encoder and decoder "
    "each serialize and re-parse the message once (docs/protocol/mcp.md §1, §7), which is in "
    "the figure",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/mcp_size.py",
        description="MCP bytes per message vs zlib, brotli, zstd (trained and streamed) and "
        "DEFLATE + RFC 3485, on the SIP, SIP-C and torture corpora; MCP throughput; targets.",
    )
    p.add_argument("--seconds", type=float, help=f"time per throughput row ({DEFAULTS['seconds']})")
    p.add_argument("--rounds", type=int, help=f"throughput rounds ({DEFAULTS['rounds']})")
    p.add_argument("--limit", type=int, help="use only the first N files of each corpus")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/test split (0)")
    p.add_argument(
        "--splits", type=int, help=f"seeds for the held-out spread ({DEFAULTS['splits']}; 1 = off)"
    )
    p.add_argument(
        "--table-size",
        type=int,
        default=DEFAULT_TABLE_SIZE,
        help=f"stateful MCP table size in bytes ({DEFAULT_TABLE_SIZE})",
    )
    p.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="a deployment domain for MCP's domain table, as a handshake would add (repeatable)",
    )
    p.add_argument(
        "--corpus", default=",".join(CORPORA), help=f"comma-separated ({','.join(CORPORA)})"
    )
    p.add_argument(
        "--generated",
        type=int,
        help=f"messages drawn from the property tests' strategy ({DEFAULTS['generated']}; "
        "0 = none)",
    )
    p.add_argument("--no-throughput", action="store_true", help="sizes only")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: --limit {QUICK['limit']} --rounds {QUICK['rounds']} --seconds "
        f"{QUICK['seconds']} --splits {QUICK['splits']} unless given",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    return p


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the benchmark and print the report (text, or JSON with ``--json``).

    Returns:
        0; 1 when a method failed its round trip; 2 when the corpus is missing.
    """
    out = sys.stdout if out is None else out
    p = build_parser()
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.seconds <= 0 or args.rounds < 1 or args.splits < 1 or args.generated < 0:
        p.error("--seconds must be > 0; --rounds and --splits ≥ 1; --generated ≥ 0")
    if not 1 <= args.table_size <= DEFAULT_LIMITS.max_table_size:
        p.error(f"--table-size must be 1 to {DEFAULT_LIMITS.max_table_size} (McpLimits)")
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be ≥ 1")
    names = tuple(x.strip() for x in args.corpus.split(",") if x.strip())
    if not names or any(n not in CORPORA for n in names):
        p.error(f"--corpus: choose from {', '.join(CORPORA)}")
    progress = None if args.json else sys.stderr

    root = corpus_root()
    options = McpOptions(domains=tuple(args.domain))
    corpora = [load_corpus(root, name, args.limit, options) for name in names]
    empty = [c.name for c in corpora if not c.items]
    if empty:
        print(
            f"error: no messages for {', '.join(empty)} under {root} "
            f"(set {CORPUS_ENV} to the shared corpus folder)",
            file=sys.stderr,
        )
        return 2
    generated, generated_reason = (
        generated_corpus(args.generated, options) if args.generated else (None, "")
    )

    zstd, zstd_reason = _import("zstandard")
    brotli, brotli_reason = _import("brotli")
    rfc3485, dictionary = _load_dictionary(root)
    env = Env(
        options=options,
        table_size=args.table_size,
        zstd=zstd,
        brotli=brotli,
        missing={"zstd": zstd_reason, "brotli": brotli_reason},
        rfc3485=rfc3485,
        rfc3485_reason=dictionary["reason"] or "",
    )
    all_methods = methods(args.table_size)
    reports, errors = [], []
    for corpus in corpora:
        if progress is not None:
            print(f"sizes: {corpus.name} …", file=progress, flush=True)
        report, corpus_errors = corpus_report(env, all_methods, corpus, args.seed, args.splits)
        reports.append(report)
        errors += [f"{corpus.name}: {e}" for e in corpus_errors]
    if generated is not None and generated.items:
        if progress is not None:
            print(f"sizes: {GENERATED} …", file=progress, flush=True)
        report, corpus_errors = corpus_report(env, all_methods, generated, args.seed, 1)
        reports.append(report)
        errors += [f"{GENERATED}: {e}" for e in corpus_errors]

    speeds = [] if args.no_throughput else speed_rows(corpora, options, args.table_size)
    measure_speed(speeds, rounds=args.rounds, seconds=args.seconds, progress=progress)
    errors += [
        f"throughput {s.corpus} {s.mode}: {s.mismatches} outputs differ from the original"
        for s in speeds
        if s.mismatches
    ]
    result = {
        "environment": _environment(env),
        "settings": {
            "quick": args.quick,
            "limit": args.limit,
            "seed": args.seed,
            "splits": args.splits,
            "table_size": args.table_size,
            "domains": list(args.domain),
            "generated": args.generated,
            "generated_reason": generated_reason,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "zstd_level": ZSTD_LEVEL,
            "zstd_dict_id": ZSTD_DICT_ID,
        },
        "corpus_root": str(root),
        "dictionary": dictionary,
        "unavailable": [
            {"name": name, "reason": reason}
            for name, module, reason in (
                ("zstandard", zstd, zstd_reason),
                ("brotli", brotli, brotli_reason),
            )
            if module is None
        ],
        "corpora": reports,
        "throughput": [
            {
                "corpus": s.corpus,
                "mode": s.mode,
                "messages": len(s.messages),
                "rounds_msgs_per_s": s.rounds,
                "msgs_per_s_median": statistics.median(s.rounds),
                "msgs_per_s_best": max(s.rounds),
                "cpu_us_per_msg_median": statistics.median(s.cpu_us),
                "checked": s.checked,
                "mismatches": s.mismatches,
            }
            for s in speeds
        ],
        "targets": _target_verdicts(reports, speeds, args.table_size),
        "notes": [*NOTES, *([f"generated: {generated_reason}"] if generated_reason else [])],
        "errors": errors,
    }
    if args.json:
        json.dump(result, out, indent=2)
        out.write("\n")
    else:
        _print_text(result, out)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
