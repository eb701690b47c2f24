"""``columba mcp …``: encode, decode and measure MCP, one message per file.

``columba mcp encode FILE`` reads a SIP or SIP-C message (as ``columba sip check`` does: the
file is one datagram) and writes its stateless MCP bytes to standard output;
``columba mcp decode FILE`` does the reverse and writes the text message. ``columba mcp stats
[--stateful] FILE…`` prints, per file, the size of the message's text form and of its MCP
form, then a total line::

    001-register-request.txt: text=150 mcp=52
    total text=13173 mcp=4814 ratio=0.365

With ``--stateful`` the files are encoded in the order given over one connection (one
direction, one dynamic table of ``--table-size`` bytes). ``--domain`` adds a deployment domain
to the domain table (as a server's handshake would); encoder and decoder must agree on it.

:func:`convert_to_mcp` and :func:`convert_from_mcp` are the conversions behind
``columba sip convert --to mcp`` and ``--from mcp``; :func:`run_sip_convert` is the whole
command body (read, convert, report, write) that ``cli_sip.run_convert`` delegates to.

Exit status: 0 success, 1 a message could not be converted, 2 a usage error or an unreadable
file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from columba.protocol.errors import ParseError, ProtocolError
from columba.protocol.mcp import Decoder, Encoder, McpOptions, decode, encode
from columba.protocol.sip import parse_message, serialize

#: The dynamic table size ``stats --stateful`` uses unless told otherwise (HPACK's default).
DEFAULT_TABLE_SIZE = 4096


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba mcp`` and its subcommands to the ``columba`` parser."""
    mcp = commands.add_parser(
        "mcp",
        help="encode, decode and measure MCP, the binary form of SIP and SIP-C",
        description="Convert SIP/SIP-C messages to MCP and back, and measure the savings.",
    )
    actions = mcp.add_subparsers(title="subcommands", dest="mcp_command", metavar="SUBCOMMAND")
    actions.required = True

    encode_parser = actions.add_parser(
        "encode",
        help="write the MCP form of a message file to stdout",
        description="Read FILE as one SIP or SIP-C message; write its stateless MCP bytes.",
    )
    encode_parser.add_argument("file", metavar="FILE", help="a message file, or - for stdin")
    _domain_option(encode_parser)
    encode_parser.set_defaults(handler=run_encode)

    decode_parser = actions.add_parser(
        "decode",
        help="write the text message of an MCP file to stdout",
        description="Read FILE as one stateless MCP message; write the text message.",
    )
    decode_parser.add_argument("file", metavar="FILE", help="an MCP file, or - for stdin")
    _domain_option(decode_parser)
    decode_parser.set_defaults(handler=run_decode)

    stats = actions.add_parser(
        "stats",
        help="print text and MCP sizes of message files",
        description=(
            "Print 'FILE: text=N mcp=M' per message file and a final "
            "'total text=N mcp=M ratio=R' line (R = mcp/text)."
        ),
    )
    stats.add_argument("files", nargs="+", metavar="FILE", help="message files")
    stats.add_argument(
        "--stateful",
        action="store_true",
        help="encode the files in order over one stateful connection",
    )
    stats.add_argument(
        "--table-size",
        type=_table_size,
        default=DEFAULT_TABLE_SIZE,
        metavar="BYTES",
        help=f"dynamic table size with --stateful (default {DEFAULT_TABLE_SIZE})",
    )
    _domain_option(stats)
    stats.set_defaults(handler=run_stats)


def _domain_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="a deployment domain for the domain table (repeatable)",
    )


def _table_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 1 << 20:
        raise argparse.ArgumentTypeError("must be between 1 and 1048576")
    return value


# -- conversions (also for ``columba sip convert``) ----------------------------------------------


def _read_path(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def convert_to_mcp(path: str, *, domains: tuple[str, ...] = ()) -> bytes:
    """The stateless MCP bytes of the SIP or SIP-C message in file ``path`` (``-``: stdin).

    Raises:
        OSError: the file cannot be read.
        ProtocolError: the file does not hold a message MCP can carry.
    """
    message = parse_message(_read_path(path), datagram=True)
    return encode(message, McpOptions(domains=domains))


def convert_from_mcp(path: str, *, domains: tuple[str, ...] = ()) -> bytes:
    """The text message (bytes) of the stateless MCP message in file ``path`` (``-``: stdin).

    Raises:
        OSError: the file cannot be read.
        ProtocolError: the file does not hold a valid MCP message.
    """
    return serialize(decode(_read_path(path), McpOptions(domains=domains)))


# -- commands -------------------------------------------------------------------------------------


def _report(command: str, message: str) -> None:
    shown = message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    print(f"columba {command}: {shown}", file=sys.stderr)


def _error(command: str, message: str) -> None:
    _report(f"mcp {command}", message)


def _write(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _convert(args: argparse.Namespace, command: str, to_mcp: bool) -> int:
    domains = tuple(args.domain)
    try:
        data = (convert_to_mcp if to_mcp else convert_from_mcp)(args.file, domains=domains)
    except OSError as exc:
        _error(command, f"cannot read {args.file}: {exc.strerror or exc}")
        return 2
    except ParseError as exc:
        _error(command, f"{args.file}: {exc.status} {exc.reason}")
        return 1
    except ProtocolError as exc:
        _error(command, f"{args.file}: {exc}")
        return 1
    _write(data)
    return 0


def run_sip_convert(path: str, *, to_mcp: bool, domains: tuple[str, ...] = ()) -> int:
    """``columba sip convert --to mcp FILE`` / ``--from mcp FILE``: bytes to stdout.

    Returns:
        The exit status: 0 converted, 1 the input holds no message MCP can carry (or no valid
        MCP), 2 the file cannot be read. Errors are reported on stderr as
        ``columba sip convert: …``.
    """
    try:
        data = (convert_to_mcp if to_mcp else convert_from_mcp)(path, domains=domains)
    except OSError as exc:
        _report("sip convert", f"cannot read {path}: {exc.strerror or exc}")
        return 2
    except ParseError as exc:
        _report("sip convert", f"{path}: cannot convert: {exc.status} {exc.reason}")
        return 1
    except ProtocolError as exc:
        _report("sip convert", f"{path}: cannot convert: {exc}")
        return 1
    _write(data)
    return 0


def run_encode(args: argparse.Namespace) -> int:
    """``columba mcp encode``: the MCP bytes of a message file."""
    return _convert(args, "encode", to_mcp=True)


def run_decode(args: argparse.Namespace) -> int:
    """``columba mcp decode``: the text message of an MCP file."""
    return _convert(args, "decode", to_mcp=False)


def run_stats(args: argparse.Namespace) -> int:
    """``columba mcp stats``: text and MCP sizes per file and in total."""
    options = McpOptions(domains=tuple(args.domain))
    size = args.table_size if args.stateful else 0
    encoder = Encoder(options, table_size=size)
    decoder = Decoder(options, table_size=size)
    status = 0
    text_total = mcp_total = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            _error("stats", f"cannot read {name}: {exc.strerror or exc}")
            status = 2
            continue
        try:
            message = parse_message(data, datagram=True)
            text = serialize(message)
            encoded = encoder.encode(message)
            # Check the figure is honest: the bytes really decode to the same message.
            if serialize(decoder.decode(encoded)) != text:
                raise ParseError("MCP round trip changed the message")
        except ProtocolError as exc:
            # A file the text parser refuses never reaches the tables; a failure inside the
            # encoder or decoder leaves them unusable, and every later file reports it.
            _error("stats", f"{name}: {exc}")
            status = max(status, 1)
            continue
        text_total += len(text)
        mcp_total += len(encoded)
        print(f"{name}: text={len(text)} mcp={len(encoded)}")
    ratio = mcp_total / text_total if text_total else 0.0
    print(f"total text={text_total} mcp={mcp_total} ratio={ratio:.3f}")
    sys.stdout.flush()
    return status
