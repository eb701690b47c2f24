"""Single sign-in benchmark: credentials issued and verified per second, on one thread.

One credential counted = one ``columba.ssi.credentials.issue_credential`` plus one full
``columba.sso.CredentialVerifier.verify`` (header and allow-list checks, AES-GCM decryption,
``iss``/``aud``/``exp``/``nbf``/``iat`` with leeway, lifetime cap, nonce, ``jti`` replay store),
in the same process on the same thread, as an app beside SSI would see it.

The baseline, measured in the same run (the machine is shared and noisy), is the anchor of
sso-bots.md §A.5: plain joserfc ``dir``+A256GCM ``jwt.encode`` then ``jwt.decode`` with a
``JWTClaimsRegistry`` (``exp`` essential) and a set as replay cache, ≈6,900/s on one thread of
this machine. Rows are interleaved round-robin over ``--rounds`` rounds; the report gives the
median and best per row and the ratio of medians to the baseline. The target, ≥ 5,000
credentials/s for ``dir`` on one thread of this machine, is judged as a ratio so that other
load on the shared machine does not decide it: ≥ 5,000 / 6,862 (the anchor) = 0.73 × the
baseline of the same run; the report also gives the figure that ratio means at the anchor.

Run::

    .venv/bin/python bench/sso.py [--seconds S] [--rounds N] [--json] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from joserfc import jwt
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from columba.ssi.credentials import CredentialRequest, issue_credential
from columba.sso import CredentialVerifier

ISSUER = "https://columba.bench"
TARGET = 5000.0
#: sso-bots.md §A.5: joserfc dir issue + verify on one thread of this machine, unloaded.
ANCHOR = 6862.0
DEFAULTS = {"seconds": 1.0, "rounds": 5}
QUICK = {"seconds": 0.05, "rounds": 2}


def baseline_op() -> Callable[[], None]:
    """The reference's anchor: joserfc dir issue + decode + claims + replay set."""
    key = OctKey.import_key(secrets.token_bytes(32), {"kid": "k1"})
    registry = JWERegistry(algorithms=["dir", "A256GCM"])
    seen: set[str] = set()

    def op() -> None:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "s",
            "aud": "app",
            "iat": now,
            "nbf": now,
            "exp": now + 120,
            "jti": secrets.token_hex(16),
            "sid": "sess",
            "auth_time": now,
            "nonce": "n",
        }
        token = jwt.encode(
            {"alg": "dir", "enc": "A256GCM", "kid": "k1"}, claims, key, registry=registry
        )
        decoded = jwt.decode(token, key, registry=registry)
        JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": "app"},
            exp={"essential": True},
        ).validate(decoded.claims)
        jti = decoded.claims["jti"]
        assert jti not in seen
        seen.add(jti)

    return op


def columba_op(alg: str) -> Callable[[], None]:
    """Our issue + our verifier, every check on."""
    secret = secrets.token_bytes(32)
    verifier = CredentialVerifier(issuer=ISSUER, audience="app", keys={"k1": secret})

    def op() -> None:
        now = time.time()
        request = CredentialRequest(
            issuer=ISSUER,
            app_id="app",
            subject="s",
            session_id="sess",
            auth_time=int(now),
            name="Alice",
            nonce="n",
        )
        token, _ = issue_credential(request, alg=alg, kid="k1", secret=secret, now=now)
        verifier.verify(token, nonce="n")

    return op


ROWS: dict[str, Callable[[], Callable[[], None]]] = {
    "joserfc dir (baseline)": baseline_op,
    "columba dir": lambda: columba_op("dir"),
    "columba A256KW": lambda: columba_op("A256KW"),
}
BASELINE = "joserfc dir (baseline)"
HEADLINE = "columba dir"


def measure(op: Callable[[], None], seconds: float) -> float:
    """Operations per second over about ``seconds``."""
    gc.collect()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            op()
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def run(seconds: float, rounds: int) -> dict[str, Any]:
    ops = {name: make() for name, make in ROWS.items()}
    for op in ops.values():
        op()  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in ops}
    names = list(ops)
    for round_ in range(rounds):
        start = round_ % len(names)
        for name in names[start:] + names[:start]:
            samples[name].append(measure(ops[name], seconds))
    base = statistics.median(samples[BASELINE])
    results = []
    for name in names:
        median = statistics.median(samples[name])
        results.append(
            {
                "row": name,
                "per_s_median": round(median, 1),
                "per_s_best": round(max(samples[name]), 1),
                "rounds_per_s": [round(s, 1) for s in samples[name]],
                "ratio_vs_baseline": round(median / base, 3),
            }
        )
    headline = next(r for r in results if r["row"] == HEADLINE)
    return {
        "settings": {"seconds": seconds, "rounds": rounds, "threads": 1},
        "python": platform.python_version(),
        "results": results,
        "target_per_s": TARGET,
        "anchor_per_s": ANCHOR,
        "target_ratio": round(TARGET / ANCHOR, 3),
        "projected_at_anchor_per_s": round(headline["ratio_vs_baseline"] * ANCHOR),
        "meets_target": headline["ratio_vs_baseline"] >= TARGET / ANCHOR,
    }


def main(argv: list[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="a smoke run (about a second)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    seconds = args.seconds if args.seconds is not None else preset["seconds"]
    rounds = args.rounds if args.rounds is not None else int(preset["rounds"])
    report = run(float(seconds), rounds)
    if args.json:
        print(json.dumps(report, indent=2), file=out)
        return 0
    print(
        f"credentials issued + verified per second, one thread, {rounds} rounds of {seconds} s",
        file=out,
    )
    print(f"{'row':<24} {'median/s':>10} {'best/s':>10} {'× baseline':>11}", file=out)
    for row in report["results"]:
        print(
            f"{row['row']:<24} {row['per_s_median']:>10,.0f} {row['per_s_best']:>10,.0f}"
            f" {row['ratio_vs_baseline']:>11.2f}",
            file=out,
        )
    verdict = "meets" if report["meets_target"] else "MISSES"
    print(
        f"target ≥ {TARGET:,.0f}/s for {HEADLINE} = ≥ {report['target_ratio']:.2f} × baseline"
        f" (anchor {ANCHOR:,.0f}/s): {verdict};"
        f" at the anchor this run means {report['projected_at_anchor_per_s']:,}/s",
        file=out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
