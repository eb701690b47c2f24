"""``columba mcp encode|decode|stats`` in process, and the conversions behind
``columba sip convert --to mcp|--from mcp``."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from columba.cli import main
from columba.cli_mcp import convert_from_mcp, convert_to_mcp, run_sip_convert
from columba.protocol.errors import ProtocolError
from columba.protocol.mcp import Decoder, Encoder, decode
from columba.protocol.sip import parse_message, serialize

from .corpus import SIP_IM, SIPC

REQUEST = SIPC[0]


def run(capsysbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, str]:
    status = main(["mcp", *argv])
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err.decode()


def test_encode_then_decode_gives_the_message_back(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    status, binary, err = run(capsysbinary, "encode", str(REQUEST))
    assert (status, err) == (0, "")
    assert len(binary) < REQUEST.stat().st_size
    assert serialize(decode(binary)) == REQUEST.read_bytes()
    mcp_file = tmp_path / "message.mcp"
    mcp_file.write_bytes(binary)
    status, text, err = run(capsysbinary, "decode", str(mcp_file))
    assert (status, text, err) == (0, REQUEST.read_bytes(), "")


def test_standard_input(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(REQUEST.read_bytes())))
    status, binary, _ = run(capsysbinary, "encode", "-")
    assert status == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(binary)))
    assert run(capsysbinary, "decode", "-")[1] == REQUEST.read_bytes()


def test_domains_must_be_given_to_both(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = SIP_IM[0]
    status, with_domain, _ = run(capsysbinary, "encode", "--domain", "im.example.com", str(path))
    assert status == 0
    assert len(with_domain) < len(run(capsysbinary, "encode", str(path))[1])
    mcp_file = tmp_path / "m.mcp"
    mcp_file.write_bytes(with_domain)
    status, text, _ = run(capsysbinary, "decode", "--domain", "im.example.com", str(mcp_file))
    assert (status, text) == (0, path.read_bytes())
    status, text, err = run(capsysbinary, "decode", str(mcp_file))
    assert (status, text) == (1, b"")
    assert "domain" in err


def test_errors(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    status, out, err = run(capsysbinary, "encode", str(tmp_path / "missing"))
    assert (status, out) == (2, b"")
    assert "cannot read" in err
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a message")
    status, out, err = run(capsysbinary, "encode", str(junk))
    assert (status, out) == (1, b"")
    assert "400" in err
    status, out, err = run(capsysbinary, "decode", str(junk))
    assert (status, out) == (1, b"")
    assert "MCP" in err


def test_stats_prints_a_line_per_file_and_the_total(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    files = [str(path) for path in SIPC]
    status, out, err = run(capsysbinary, "stats", *files)
    assert (status, err) == (0, "")
    lines = out.decode().splitlines()
    assert len(lines) == len(files) + 1
    text = mcp = 0
    for name, line in zip(files, lines, strict=False):
        head, sizes = line.rsplit(": ", 1)
        assert head == name
        t, m = (int(part.split("=")[1]) for part in sizes.split())
        assert t == len(serialize(parse_message(Path(name).read_bytes())))
        assert 0 < m < t
        text, mcp = text + t, mcp + m
    assert lines[-1] == f"total text={text} mcp={mcp} ratio={mcp / text:.3f}"


def test_stats_stateful_encodes_over_one_connection(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    files = [str(path) for path in SIPC]
    stateless = run(capsysbinary, "stats", *files)[1].decode().splitlines()[-1]
    status, out, _ = run(capsysbinary, "stats", "--stateful", *files)
    stateful = out.decode().splitlines()[-1]
    assert status == 0
    encoder = Encoder(table_size=4096)
    expected = sum(len(encoder.encode(parse_message(Path(f).read_bytes()))) for f in files)
    assert f" mcp={expected} " in stateful
    assert int(stateful.split()[2][4:]) < int(stateless.split()[2][4:])
    small = run(capsysbinary, "stats", "--stateful", "--table-size", "64", *files)[1]
    assert small.decode().splitlines()[-1] != stateful


def test_stats_reports_bad_files_and_goes_on(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk")
    status, out, err = run(capsysbinary, "stats", str(junk), str(tmp_path / "none"), str(REQUEST))
    assert status == 2
    lines = out.decode().splitlines()
    assert lines[0].startswith(f"{REQUEST}: text=")
    assert lines[-1].startswith("total text=")
    assert "junk" in err
    assert "cannot read" in err


@pytest.mark.parametrize("argv", [["stats"], ["frob"], ["stats", "--table-size", "0", "x"], []])
def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["mcp", *argv])
    assert exc.value.code == 2
    assert "usage: columba" in capsys.readouterr().err


def test_convert_functions_for_columba_sip_convert(tmp_path: Path) -> None:
    binary = convert_to_mcp(str(REQUEST))
    mcp_file = tmp_path / "r.mcp"
    mcp_file.write_bytes(binary)
    assert convert_from_mcp(str(mcp_file)) == REQUEST.read_bytes()
    with pytest.raises(FileNotFoundError):
        convert_to_mcp(str(tmp_path / "missing"))
    with pytest.raises(ProtocolError):
        convert_from_mcp(str(REQUEST))


def test_stats_figures_decode_back() -> None:
    # what `stats --stateful` counts is what a decoder in step reads back
    encoder, decoder = Encoder(table_size=4096), Decoder(table_size=4096)
    for path in SIPC + SIP_IM:
        message = parse_message(path.read_bytes())
        assert serialize(decoder.decode(encoder.encode(message))) == serialize(message)


def test_the_sip_convert_hook(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    assert run_sip_convert(str(REQUEST), to_mcp=True) == 0
    binary = capsysbinary.readouterr().out
    mcp_file = tmp_path / "r.mcp"
    mcp_file.write_bytes(binary)
    assert run_sip_convert(str(mcp_file), to_mcp=False) == 0
    assert capsysbinary.readouterr().out == REQUEST.read_bytes()
    assert run_sip_convert(str(REQUEST), to_mcp=False) == 1
    assert b"columba sip convert: " in capsysbinary.readouterr().err
    assert run_sip_convert(str(tmp_path / "missing"), to_mcp=True) == 2
    assert b"cannot read" in capsysbinary.readouterr().err
