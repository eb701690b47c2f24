"""Tests for ``columba sip check`` and ``columba sip convert``, in process and as a subprocess."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from columba import __version__
from columba.cli import main

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("COLUMBA_CORPUS") or REPO.parent / "shared" / "corpus")
TORTURE = CORPUS / "sip" / "torture"
SIPC = CORPUS / "sipc"


def manifest() -> list[dict[str, str]]:
    with (CORPUS / "sip" / "torture-manifest.tsv").open(newline="") as file:
        return list(csv.DictReader(file, delimiter="\t"))


ROWS = manifest()
ACCEPT = [row["file"] for row in ROWS if row["expected_parser_outcome"] == "accept"]
REJECT = [row["file"] for row in ROWS if row["expected_parser_outcome"] == "reject"]
#: "either (RFC: answer 400)" rows, and test.dat ("n/a (invalid …)").
OTHER = [row["file"] for row in ROWS if row["file"] not in ACCEPT + REJECT]

#: ``columba sip check --semantic`` on RFC 4475 §3.2–3.4: the response a server gives.
SEMANTIC_LINES = {
    "badbranch.dat": "accept",
    "insuf.dat": "reject 400 Missing To, From, Call-ID",
    "unkscm.dat": "reject 416 Unsupported URI Scheme",
    "novelsc.dat": "reject 416 Unsupported URI Scheme",
    "unksm2.dat": "reject 400 To of a REGISTER must be a SIP or SIPS URI",
    "bext01.dat": "reject 420 Bad Extension",
    "invut.dat": "reject 415 Unsupported Media Type",
    "regaut01.dat": "reject 401 Unauthorized",
    "multi01.dat": "reject 400 Multiple values for Max-Forwards, CSeq, Call-ID, From, To",
    "mcl01.dat": "reject 400 conflicting Content-Length values",
    "bcast.dat": "discard Via sent-by 255.255.255.255 is a broadcast or multicast address",
    "zeromf.dat": "reject 483 Too Many Hops",
    "cparam01.dat": "accept",
    "cparam02.dat": "accept",
    "regescrt.dat": "accept",
    "sdp01.dat": "reject 406 Not Acceptable",
    "inv2543.dat": "accept",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


@pytest.fixture(autouse=True)
def in_torture_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TORTURE)


def test_the_manifest_lists_every_torture_file() -> None:
    assert {row["file"] for row in ROWS} == {path.name for path in TORTURE.glob("*.dat")}
    assert (len(ACCEPT), len(REJECT), len(OTHER)) == (27, 19, 4)


# --- check: the syntax verdict ------------------------------------------------------------------


@pytest.mark.parametrize("name", ACCEPT)
def test_every_accept_file_is_accepted(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert run(capsys, "sip", "check", name) == (0, [f"{name}: accept"], "")


@pytest.mark.parametrize("name", REJECT)
def test_every_reject_file_is_rejected_with_a_reason(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    status, [line], err = run(capsys, "sip", "check", name)
    assert (status, err) == (1, "")
    assert line.startswith(f"{name}: reject ")
    code, reason = line.removeprefix(f"{name}: reject ").split(" ", 1)
    assert code == ("505" if name == "badvers.dat" else "400")
    assert len(reason) > 10


def test_the_whole_torture_list_in_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    names = [row["file"] for row in ROWS]
    status, lines, err = run(capsys, "sip", "check", *names)
    assert (status, err) == (1, "")
    assert [line.split(": ", 1)[0] for line in lines] == names
    verdicts = dict(line.split(": ", 1) for line in lines)
    assert all(verdicts[name] == "accept" for name in ACCEPT)
    assert all(verdicts[name].startswith("reject ") for name in REJECT)
    assert verdicts["test.dat"].startswith("reject 400 header line without a name and colon")


def test_only_accepted_files_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(capsys, "sip", "check", *ACCEPT)
    assert status == 0
    assert len(lines) == len(ACCEPT)


def test_file_names_are_printed_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    absolute = str(TORTURE / "wsinv.dat")
    _, lines, _ = run(capsys, "sip", "check", "./wsinv.dat", absolute, "../torture/ncl.dat")
    assert lines[0] == "./wsinv.dat: accept"
    assert lines[1] == f"{absolute}: accept"
    assert lines[2] == "../torture/ncl.dat: reject 400 malformed Content-Length '-999'"


def test_dash_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (TORTURE / "unkscm.dat").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run(capsys, "sip", "check", "--semantic", "-") == (
        1,
        ["-: reject 416 Unsupported URI Scheme"],
        "",
    )


def test_unreadable_files_exit_two_after_checking_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, lines, err = run(capsys, "sip", "check", "missing.dat", "ncl.dat", str(tmp_path))
    assert status == 2
    assert lines == ["ncl.dat: reject 400 malformed Content-Length '-999'"]
    assert "cannot read missing.dat: No such file or directory" in err
    assert f"cannot read {tmp_path}" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["sip"],
        ["sip", "check"],
        ["sip", "frobnicate", "x"],
        ["sip", "convert", "--to", "xml", "wsinv.dat"],
        ["sip", "convert", "wsinv.dat"],
    ],
)
def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: columba" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"columba {__version__}"


# --- check --semantic ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "line"), sorted(SEMANTIC_LINES.items()))
def test_semantic_verdicts(capsys: pytest.CaptureFixture[str], name: str, line: str) -> None:
    status, lines, _ = run(capsys, "sip", "check", "--semantic", name)
    assert lines == [f"{name}: {line}"]
    assert status == (0 if line == "accept" else 1)


def test_semantic_rejects_all_either_files(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(capsys, "sip", "check", "--semantic", *OTHER)
    assert status == 1
    assert all(" reject 400 " in line for line in lines)


def test_every_sipc_corpus_file_passes_the_semantic_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = sorted(str(path) for path in SIPC.glob("*.txt"))
    status, lines, _ = run(capsys, "sip", "check", "--semantic", *names)
    assert lines == [f"{name}: accept" for name in names]
    assert status == 0


def test_uas_role_skips_the_proxy_checks(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(capsys, "sip", "check", "--semantic", "--uas", "zeromf.dat")
    assert (status, lines) == (0, ["zeromf.dat: accept"])


def test_response_prints_what_the_server_would_send(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(
        capsys, "sip", "check", "--semantic", "--uas", "--response", "bext01.dat"
    )
    assert status == 1
    assert lines[:2] == ["bext01.dat: reject 420 Bad Extension", "  SIP/2.0 420 Bad Extension"]
    assert "  Unsupported: nothingSupportsThis, nothingSupportsThisEither" in lines
    assert "  Call-ID: bext01.0ha0isndaksdj" in lines
    assert lines[-1] == "  Content-Length: 0"


def test_response_is_silent_for_syntax_rejections(capsys: pytest.CaptureFixture[str]) -> None:
    _, lines, _ = run(capsys, "sip", "check", "--semantic", "--response", "ncl.dat", "wsinv.dat")
    assert lines == ["ncl.dat: reject 400 malformed Content-Length '-999'", "wsinv.dat: accept"]


# --- convert ------------------------------------------------------------------------------------


def convert(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, bytes]:
    status = main(["sip", "convert", *argv])
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err


def test_convert_to_sip(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    status, out, err = convert(
        capsysbinary, "--to", "sip", str(SIPC / "013-service-getcontactinfo-request.txt")
    )
    assert (status, err) == (0, b"")
    assert out == (
        b"SERVICE sip:fetion.com.cn SIP/2.0\r\n"
        b"From: sip:700100200\r\n"
        b"Call-ID: 5\r\n"
        b"CSeq: 1 SERVICE\r\n"
        b"Event: GetContactInfoV4\r\n"
        b"Content-Length: 46\r\n"
        b"\r\n"
        b'<args><contact uri="tel:13900000004" /></args>'
    )


@pytest.mark.parametrize("name", sorted(path.name for path in SIPC.glob("*.txt")))
def test_convert_there_and_back_gives_the_original_bytes(
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    original = (SIPC / name).read_bytes()
    status, sip, _ = convert(capsysbinary, "--to", "sip", str(SIPC / name))
    assert status == 0
    start = sip.split(b"\r\n", 1)[0]
    assert b"SIP/2.0" in start
    assert b"SIP-C" not in start
    version = "SIP-C/2.0" if b"SIP-C/2.0" in original.split(b"\r\n", 1)[0] else "SIP-C/4.0"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(sip)))
    status, back, _ = convert(capsysbinary, "--to", "sipc", "--version", version, "-")
    assert status == 0
    assert back == original


def test_convert_refuses_a_message_already_in_that_spelling(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    status, out, err = convert(capsysbinary, "--to", "sipc", str(SIPC / "001-register-request.txt"))
    assert (status, out) == (1, b"")
    assert b"already spelled as SIP-C" in err
    status, _, err = convert(capsysbinary, "--to", "sip", "wsinv.dat")
    assert status == 1
    assert b"wsinv.dat is already spelled as SIP" in err


def test_convert_reports_unparseable_and_unreadable_input(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    status, out, err = convert(capsysbinary, "--to", "sip", "ncl.dat")
    assert (status, out) == (1, b"")
    assert b"ncl.dat: cannot parse: 400 malformed Content-Length" in err
    status, _, err = convert(capsysbinary, "--to", "sip", "missing.dat")
    assert status == 2
    assert b"cannot read missing.dat" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "sip", "--version", "SIP-C/2.0"], b"--version applies to --to sipc only"),
        (["--to", "sipc", "--domain", "example.com"], b"--domain applies to --to sip only"),
    ],
)
def test_convert_option_mismatches_exit_two(
    capsysbinary: pytest.CaptureFixture[bytes], argv: list[str], message: bytes
) -> None:
    status, _, err = convert(capsysbinary, *argv, "wsinv.dat")
    assert status == 2
    assert message in err


# --- A real process -----------------------------------------------------------------------------


def test_python_dash_m_columba_checks_the_torture_list() -> None:
    names = [row["file"] for row in ROWS]
    result = subprocess.run(
        [sys.executable, "-m", "columba", "sip", "check", "--semantic", *names],
        cwd=TORTURE,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == ""
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert list(lines) == names
    for name, line in SEMANTIC_LINES.items():
        assert lines[name] == line
    assert lines["wsinv.dat"] == "accept"
    assert lines["badvers.dat"] == "reject 505 unsupported protocol version SIP/7.0"
