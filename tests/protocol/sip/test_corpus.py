"""Golden files: every corpus message parses and serializes back to the same bytes, and every
RFC 4475 torture message gets the verdict its manifest names."""

from __future__ import annotations

from pathlib import Path

import pytest

from columba.protocol.errors import ParseError
from columba.protocol.sip import parse_message, serialize, validate
from columba.protocol.sip.framing import MessageReceived, StreamFramer

from .corpus_files import ALL_MESSAGES, SIP_IM, SIPC, TORTURE, torture_manifest

MANIFEST = torture_manifest()

#: Corpus files that are not valid messages as stored: the invalid torture tests and two
#: RFC 5118 files whose Content-Length was broken when the archive's CRLFs became LFs.
NOT_VALID = {
    name for name, verdict in MANIFEST.items() if verdict == "reject" or verdict.startswith("n/a")
} | {"ipv6-in-sdp", "mult-ip-in-sdp", "mcl01.dat"}
# mcl01.dat ("either" in the manifest) is refused: two Content-Length values make the framing
# ambiguous, the classic request-smuggling shape.


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", [p for p in ALL_MESSAGES if p.name not in NOT_VALID], ids=_id)
def test_round_trip_is_byte_exact(path: Path) -> None:
    data = path.read_bytes()
    message = parse_message(data)
    out = serialize(message)
    if path.name == "dblreq.dat":
        # RFC 4475 §3.1.1.8: octets past Content-Length in a datagram are discarded.
        assert data.startswith(out)
        assert len(out) < len(data)
    else:
        assert out == data
    assert parse_message(out) == message


def test_corpus_is_present() -> None:
    assert len(SIP_IM) >= 80
    assert len(SIPC) >= 40
    assert len(TORTURE) == 50


@pytest.mark.parametrize("path", TORTURE, ids=_id)
def test_torture_verdict(path: Path) -> None:
    expected = MANIFEST[path.name]
    try:
        validate(parse_message(path.read_bytes()))
    except ParseError as exc:
        verdict, reason = "reject", exc.reason
    else:
        verdict, reason = "accept", ""
    if expected in ("accept", "reject"):
        assert verdict == expected, reason
    if verdict == "reject":
        assert len(reason) > 10, "a rejection names its reason"


def test_torture_score_is_perfect() -> None:
    scored = correct = 0
    for path in TORTURE:
        expected = MANIFEST[path.name]
        if expected.startswith("n/a"):
            continue
        scored += 1
        try:
            validate(parse_message(path.read_bytes()))
            verdict = "accept"
        except ParseError:
            verdict = "reject"
        correct += expected.startswith("either") or expected == verdict
    assert (correct, scored) == (49, 49)


@pytest.mark.parametrize(
    ("name", "status"),
    [("badvers.dat", 505), ("clerr.dat", 400), ("ncl.dat", 400), ("scalar02.dat", 400)],
)
def test_rejections_carry_the_status_to_answer(name: str, status: int) -> None:
    path = next(p for p in TORTURE if p.name == name)
    with pytest.raises(ParseError) as info:
        validate(parse_message(path.read_bytes()))
    assert info.value.status == status


def _stream_corpus() -> list[Path]:
    return [p for p in SIP_IM + SIPC if p.name not in NOT_VALID]


def test_whole_corpus_back_to_back_on_one_stream() -> None:
    files = _stream_corpus()
    stream = b"".join(p.read_bytes() for p in files)
    framer = StreamFramer()
    events = framer.feed(stream)
    assert [serialize(e.message) for e in events if isinstance(e, MessageReceived)] == [
        p.read_bytes() for p in files
    ]
    assert framer.buffered == 0


def test_sipc_corpus_byte_by_byte() -> None:
    files = list(SIPC)
    stream = b"".join(p.read_bytes() for p in files)
    framer = StreamFramer()
    got = []
    for i in range(len(stream)):
        for event in framer.feed(stream[i : i + 1]):
            assert isinstance(event, MessageReceived)
            got.append(serialize(event.message))
    assert got == [p.read_bytes() for p in files]
