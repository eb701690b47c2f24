"""Parser benchmark: Columba's SIP/SIP-C parser against sippy and sipmessage.

Measures messages per second, parse-only and parse plus typed header access, on the SIP IM
corpus (``sip/im/*.sip``) and the SIP-C corpus (``sipc/*.txt``), and scores every contender on
the RFC 4475 torture messages, following ``reference/sip-compression.md`` §4.

Method, chosen because these machines are shared and noisy:

* Files are read once into a list of byte strings before anything is timed.
* An untimed pass over the corpus (which doubles as warm-up) finds the messages each contender
  and mode accepts; throughput is measured over those, as in the reference, and the report
  says how many of how many that was and which exceptions the rest raised.
* Each measurement loops over its messages as many whole times as fit in ``--seconds``, timed
  with ``time.perf_counter``, with the same loop for every contender. ``gc.collect()`` runs
  before each, the collector stays on (allocation is part of a parser's cost).
* The measurements are interleaved round-robin over ``--rounds`` rounds (the starting point
  rotates each round); the report gives the median and the best round per row, and the ratio
  of medians against sippy's typed mode on the same corpus, measured in the same run.

Run::

    uv run --frozen --group bench python bench/parse.py [--seconds S] [--rounds N] [--json]

The corpus is ``../shared/corpus`` from the repository root, or ``$COLUMBA_CORPUS``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import peers  # bench/ is sys.path[0] when this file runs as a script

REPO = Path(__file__).resolve().parent.parent
CORPUS_ENV = "COLUMBA_CORPUS"
#: Corpus name → (folder under the corpus root, file pattern).
CORPORA = {"im": ("sip/im", "*.sip"), "sipc": ("sipc", "*.txt")}
TORTURE_DIR = "sip/torture"
TORTURE_MANIFEST = "sip/torture-manifest.tsv"
#: The row every ratio is taken against.
BASELINE = ("sippy", "typed")
#: The acceptance target of the codec issue: ours typed ≥ 3× sippy typed.
TARGET = (("columba", "typed"), 3.0)
DEFAULTS = {"seconds": 1.0, "rounds": 5, "limit": None}
QUICK = {"seconds": 0.05, "rounds": 2, "limit": 10}


@dataclass(frozen=True, slots=True, kw_only=True)
class Corpus:
    name: str
    names: tuple[str, ...]
    messages: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return sum(map(len, self.messages))


@dataclass(frozen=True, slots=True, kw_only=True)
class TortureCase:
    name: str
    expected: str  # "accept", "reject" or "either"
    data: bytes


@dataclass(slots=True, kw_only=True)
class Row:
    """One (corpus, contender, mode) measurement and its rounds."""

    corpus: Corpus
    contender: peers.Contender
    mode: str
    accepted: tuple[bytes, ...] = ()
    failures: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (msgs/s, bytes/s)
    unstable: int = 0  # timed calls that raised although the screening pass accepted them

    @property
    def median(self) -> float | None:
        return statistics.median(r[0] for r in self.rounds) if self.rounds else None

    @property
    def best(self) -> float | None:
        return max(r[0] for r in self.rounds) if self.rounds else None

    @property
    def median_bytes(self) -> float | None:
        return statistics.median(r[1] for r in self.rounds) if self.rounds else None


def corpus_root() -> Path:
    """The shared corpus folder: ``$COLUMBA_CORPUS`` or ``../shared/corpus`` from the repo."""
    override = os.environ.get(CORPUS_ENV)
    return Path(override) if override else REPO.parent / "shared" / "corpus"


def load_corpus(root: Path, name: str, limit: int | None) -> Corpus:
    folder, pattern = CORPORA[name]
    paths = sorted((root / folder).glob(pattern))[:limit]
    return Corpus(
        name=name,
        names=tuple(p.stem for p in paths),
        messages=tuple(p.read_bytes() for p in paths),
    )


def load_torture(root: Path) -> tuple[list[TortureCase], list[str]]:
    """The scored RFC 4475 cases (``n/a`` rows left out) and warnings about the files."""
    manifest = root / TORTURE_MANIFEST
    if not manifest.is_file():
        return [], [f"torture: no manifest at {manifest}"]
    cases: list[TortureCase] = []
    warnings: list[str] = []
    with manifest.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            # "accept", "reject", "either (RFC: answer 400)", "n/a (invalid: …)"
            expected = row["expected_parser_outcome"].split()[0]
            if expected not in ("accept", "reject", "either"):
                continue
            path = root / TORTURE_DIR / row["file"]
            if not path.is_file():
                warnings.append(f"torture: {row['file']} missing")
                continue
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != row["sha256"]:
                warnings.append(f"torture: {row['file']} differs from the manifest's SHA-256")
            cases.append(TortureCase(name=path.stem, expected=expected, data=data))
    return cases, warnings


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # sippy prints to stdout when it "fixes" a truncated body; keep that out of the report.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def _try(contender: peers.Contender, mode: str, data: bytes) -> BaseException | None:
    try:
        contender.modes[mode](data)
    except Exception as exc:
        return exc
    return None


def screen(row: Row) -> None:
    """Untimed pass: which messages this contender/mode accepts (also the warm-up)."""
    accepted: list[bytes] = []
    with _quiet():
        for label, data in zip(row.corpus.names, row.corpus.messages, strict=True):
            exc = _try(row.contender, row.mode, data)
            if exc is None:
                accepted.append(data)
                continue
            row.failures[type(exc).__name__] += 1
            if not isinstance(exc, row.contender.rejection):
                row.unexpected.append(f"{label}: {type(exc).__name__}: {exc}")
    row.accepted = tuple(accepted)


def time_once(
    fn: peers.ModeFn, messages: Sequence[bytes], seconds: float
) -> tuple[int, int, float]:
    """Loop over ``messages`` whole until ``seconds`` have passed.

    Returns:
        Whole passes made, messages that raised (0 unless the parser is not deterministic),
        and the elapsed time.
    """
    passes = failures = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for data in messages:
            try:
                fn(data)
            except Exception:
                failures += 1
        passes += 1
        end = time.perf_counter()
        if end >= deadline:
            return passes, failures, end - start


def measure(rows: Sequence[Row], *, rounds: int, seconds: float, progress: TextIO | None) -> None:
    """Time every row that accepted something, interleaved round-robin over ``rounds``."""
    timed = [row for row in rows if row.accepted]
    for r in range(rounds):
        if progress is not None:
            print(f"round {r + 1}/{rounds} …", file=progress, flush=True)
        # Rotate the starting point so no contender always runs first (or after the slowest).
        shift = r % len(timed) if timed else 0
        for row in timed[shift:] + timed[:shift]:
            size = sum(map(len, row.accepted))
            gc.collect()
            with _quiet():
                passes, failures, elapsed = time_once(
                    row.contender.modes[row.mode], row.accepted, seconds
                )
            row.unstable += failures
            parsed = passes * len(row.accepted) - failures
            row.rounds.append((parsed / elapsed, passes * size / elapsed))


def score_torture(
    contender: peers.Contender, mode: str, cases: Sequence[TortureCase]
) -> dict[str, Any]:
    """RFC 4475 score as in the reference: ``either`` is correct both ways."""
    wrong: list[str] = []
    unexpected: list[str] = []
    tally: Counter[str] = Counter()  # expected outcome → answered correctly
    with _quiet():
        for case in cases:
            exc = _try(contender, mode, case.data)
            is_accepted = exc is None
            if exc is not None and not isinstance(exc, contender.rejection):
                unexpected.append(f"{case.name}: {type(exc).__name__}: {exc}")
            if case.expected == "either" or is_accepted == (case.expected == "accept"):
                tally[case.expected] += 1
            else:
                wrong.append(f"{case.name}:{'accepted' if is_accepted else 'rejected'}")
    totals = Counter(case.expected for case in cases)
    return {
        "contender": contender.name,
        "version": contender.version,
        "mode": mode,
        "valid_accepted": tally["accept"],
        "valid": totals["accept"],
        "invalid_rejected": tally["reject"],
        "invalid": totals["reject"],
        "correct": tally.total(),
        "scored": len(cases),
        "wrong": sorted(wrong),
        "unexpected_exceptions": unexpected,
    }


def _ratio(row: Row, baselines: dict[str, Row]) -> float | None:
    base = baselines.get(row.corpus.name)
    if base is None or base.median is None or row.median is None:
        return None
    return row.median / base.median


def _row_json(row: Row, baselines: dict[str, Row]) -> dict[str, Any]:
    def mb(v: float | None) -> float | None:
        return None if v is None else v / 1e6

    return {
        "corpus": row.corpus.name,
        "contender": row.contender.name,
        "version": row.contender.version,
        "mode": row.mode,
        "parsed": len(row.accepted),
        "attempted": len(row.corpus.messages),
        "failures": dict(row.failures),
        "unexpected_exceptions": row.unexpected,
        "msgs_per_s_median": row.median,
        "msgs_per_s_best": row.best,
        "mb_per_s_median": mb(row.median_bytes),
        "mb_per_s_best": mb(max((r[1] for r in row.rounds), default=None)),
        "ratio_vs_sippy_typed": _ratio(row, baselines),
        "rounds_msgs_per_s": [r[0] for r in row.rounds],
        "unstable": row.unstable,
    }


def _environment() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _print_unexpected(lines: Sequence[str], out: TextIO, limit: int = 3) -> None:
    for line in lines[:limit]:
        print(f"  not a rejection error: {line}", file=out)
    if len(lines) > limit:
        print(f"  … and {len(lines) - limit} more (--json lists them all)", file=out)


def _print_text(report: dict[str, Any], out: TextIO) -> None:
    s = report["settings"]
    env = report["environment"]
    print(
        f"Parser benchmark: {env['python']}, {env['cpu']} ×{env['cpus']}, "
        f"load {' '.join(f'{x:.2f}' for x in env['loadavg'] or [])}",
        file=out,
    )
    print(
        f"{s['rounds']} rounds × {s['seconds']:g} s per row, rows interleaved round-robin; "
        "msgs/s is the median of the rounds (best round alongside), MB/s the median; "
        "'vs sippy' = ratio of medians against sippy typed on the same corpus; throughput is "
        "over the messages each contender accepts (parsed/attempted).",
        file=out,
    )
    print(f"corpus: {report['corpus_root']}", file=out)
    for c in report["corpora"]:
        print(f"  {c['name']}: {c['messages']} messages, {c['bytes']:,} bytes", file=out)
    for u in report["unavailable"]:
        print(f"{u['name']}: {u['reason']}", file=out)
    for note in report["notes"]:
        print(f"note: {note}", file=out)

    header = (
        f"{'corpus':<6} {'contender':<11} {'version':<10} {'mode':<9} {'parsed':>9} "
        f"{'msgs/s med':>11} {'best':>9} {'MB/s':>7} {'vs sippy':>9}"
    )
    print("\n" + header + "\n" + "-" * len(header), file=out)
    for r in report["results"]:
        ratio = r["ratio_vs_sippy_typed"]
        print(
            f"{r['corpus']:<6} {r['contender']:<11} {r['version']:<10} {r['mode']:<9} "
            f"{r['parsed']:>4}/{r['attempted']:<4} {_fmt(r['msgs_per_s_median'], ',.0f'):>11} "
            f"{_fmt(r['msgs_per_s_best'], ',.0f'):>9} {_fmt(r['mb_per_s_median'], '.2f'):>7} "
            f"{'-' if ratio is None else f'{ratio:.2f}x':>9}",
            file=out,
        )
    for r in report["results"]:
        if r["failures"]:
            kinds = ", ".join(f"{k} ×{n}" for k, n in sorted(r["failures"].items()))
            print(f"{r['corpus']} {r['contender']}/{r['mode']} rejected: {kinds}", file=out)
        _print_unexpected(r["unexpected_exceptions"], out)
        if r["unstable"]:
            print(
                f"{r['corpus']} {r['contender']}/{r['mode']}: {r['unstable']} timed calls raised "
                "on messages the screening pass accepted",
                file=out,
            )
    for t in report["target"]:
        print(t["verdict"], file=out)

    if report["torture"]:
        scored = report["torture"][0]["scored"]
        header = (
            f"{'contender':<11} {'mode':<9} {'valid accepted':>14} {'invalid rejected':>16} "
            f"{'correct':>8}"
        )
        print(f"\nRFC 4475 torture (out of {scored})\n{header}\n{'-' * len(header)}", file=out)
        for t in report["torture"]:
            print(
                f"{t['contender']:<11} {t['mode']:<9} {t['valid_accepted']:>11}/{t['valid']:<2} "
                f"{t['invalid_rejected']:>13}/{t['invalid']:<2} "
                f"{t['correct']:>5}/{t['scored']:<2}",
                file=out,
            )
        for t in report["torture"]:
            if t["wrong"]:
                print(f"{t['contender']}/{t['mode']} wrong: {', '.join(t['wrong'])}", file=out)
            _print_unexpected(t["unexpected_exceptions"], out)
    for w in report["warnings"]:
        print(f"warning: {w}", file=out)


def _target_verdicts(rows: Sequence[Row], baselines: dict[str, Row]) -> list[dict[str, Any]]:
    (name, mode), factor = TARGET
    verdicts = []
    for row in rows:
        if (row.contender.name, row.mode) != (name, mode):
            continue
        ratio = _ratio(row, baselines)
        if ratio is None:
            status = "n/a (no sippy typed figure on this corpus)"
        else:
            status = f"{ratio:.2f}x: {'met' if ratio >= factor else 'NOT met'}"
        verdicts.append(
            {
                "corpus": row.corpus.name,
                "ratio": ratio,
                "met": None if ratio is None else ratio >= factor,
                "verdict": f"target {row.corpus.name}: {name} {mode} ≥ {factor:g}× sippy typed "
                f"→ {status}",
            }
        )
    return verdicts


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/parse.py",
        description="SIP/SIP-C parser throughput and RFC 4475 score: Columba vs sippy and "
        "sipmessage.",
    )
    p.add_argument("--seconds", type=float, help=f"time per measurement ({DEFAULTS['seconds']:g})")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds ({DEFAULTS['rounds']})")
    p.add_argument("--limit", type=int, help="use only the first N files of each corpus")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: --seconds {QUICK['seconds']} --rounds {QUICK['rounds']} "
        f"--limit {QUICK['limit']} unless given",
    )
    p.add_argument(
        "--corpus",
        default=",".join(CORPORA),
        help=f"comma-separated corpora ({','.join(CORPORA)})",
    )
    p.add_argument(
        "--contenders",
        default=",".join(peers.CONTENDERS),
        help=f"comma-separated contenders ({','.join(peers.CONTENDERS)})",
    )
    p.add_argument("--no-torture", action="store_true", help="skip the RFC 4475 scoring")
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    return p


def _split(
    value: str, allowed: Sequence[str], what: str, p: argparse.ArgumentParser
) -> tuple[str, ...]:
    items = tuple(x.strip() for x in value.split(",") if x.strip())
    unknown = [x for x in items if x not in allowed]
    if unknown or not items:
        p.error(f"{what}: unknown {unknown or value!r}; choose from {', '.join(allowed)}")
    return items


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the benchmark and print the report (text, or JSON with ``--json``).

    Returns:
        The process exit status: 0, or 2 when the corpus is missing.
    """
    out = sys.stdout if out is None else out
    p = build_parser()
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.seconds <= 0 or args.rounds < 1 or (args.limit is not None and args.limit < 1):
        p.error("--seconds must be > 0, --rounds and --limit ≥ 1")
    corpus_names = _split(args.corpus, tuple(CORPORA), "--corpus", p)
    contender_names = _split(args.contenders, peers.CONTENDERS, "--contenders", p)

    root = corpus_root()
    corpora = [load_corpus(root, name, args.limit) for name in corpus_names]
    empty = [c.name for c in corpora if not c.messages]
    if empty:
        print(
            f"error: no messages for {', '.join(empty)} under {root} "
            f"(set {CORPUS_ENV} to the shared corpus folder)",
            file=sys.stderr,
        )
        return 2

    contenders, unavailable = peers.load(contender_names)
    rows = [
        Row(corpus=corpus, contender=contender, mode=mode)
        for corpus in corpora
        for contender in contenders
        for mode in contender.modes
    ]
    for row in rows:
        screen(row)
    measure(
        rows,
        rounds=args.rounds,
        seconds=args.seconds,
        progress=None if args.json else sys.stderr,
    )

    baselines = {
        row.corpus.name: row
        for row in rows
        if (row.contender.name, row.mode) == BASELINE and row.rounds
    }
    cases, warnings = ([], []) if args.no_torture else load_torture(root)
    torture = [score_torture(c, mode, cases) for c in contenders for mode in c.modes if cases]
    report = {
        "environment": _environment(),
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "limit": args.limit,
            "statistic": "median of rounds (best round alongside)",
            "baseline": " ".join(BASELINE),
        },
        "corpus_root": str(root),
        "corpora": [
            {"name": c.name, "messages": len(c.messages), "bytes": c.size} for c in corpora
        ],
        "unavailable": [{"name": u.name, "reason": u.reason} for u in unavailable],
        "notes": [f"{c.name}: {n}" for c in contenders for n in c.notes],
        "results": [_row_json(row, baselines) for row in rows],
        "target": _target_verdicts(rows, baselines),
        "torture": torture,
        "warnings": warnings,
    }
    if args.json:
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        _print_text(report, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
