"""``columba sip …``: check and convert SIP and SIP-C messages stored one per file.

``columba sip check [--semantic] FILE…`` reads each file as one whole message, the way one UDP
datagram carries it (without Content-Length the body runs to the end of the file), and prints
one line per file::

    wsinv.dat: accept
    clerr.dat: reject 400 Content-Length 9999 exceeds the 154 octets received
    unkscm.dat: reject 416 Unsupported URI Scheme        (with --semantic)
    bcast.dat: discard Via sent-by 255.255.255.255 is …  (with --semantic: a dropped response)

``columba sip convert --to sip|sipc FILE`` prints the message in the other spelling.

Both read standard input for ``-`` and print file names as given. Exit status: 0 when every
file is accepted (or converted), 1 when one is rejected or discarded, 2 for a usage error or an
unreadable file.
"""

from __future__ import annotations

import argparse
import sys

from columba.protocol.errors import ParseError
from columba.protocol.sip import Message, Request, parse_message, serialize, validate
from columba.protocol.sip.semantic import Discard, ServerPolicy, check_message

SIPC_VERSIONS = ("SIP-C/4.0", "SIP-C/2.0")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba sip`` and its subcommands to the ``columba`` parser."""
    sip = commands.add_parser(
        "sip",
        help="check and convert SIP and SIP-C messages",
        description="Check and convert SIP and SIP-C messages, one message per file.",
    )
    actions = sip.add_subparsers(title="subcommands", dest="sip_command", metavar="SUBCOMMAND")
    actions.required = True

    check = actions.add_parser(
        "check",
        help="say whether each file holds a message a server accepts",
        description=(
            "Read each FILE as one whole message (as a datagram carries it) and print "
            "'FILE: accept' or 'FILE: reject STATUS REASON'. Exit 1 if any is rejected."
        ),
        epilog=(
            "The syntax verdict parses the message and every header Columba knows. "
            "--semantic adds the checks a server makes before processing a request "
            "(RFC 3261 §16.3 and §8.2) and prints the response it would give; a response "
            "that must be dropped prints 'FILE: discard REASON'."
        ),
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="a message file, or - for stdin")
    check.add_argument(
        "--semantic",
        action="store_true",
        help="also apply the application-layer checks (416, 420, 483 …)",
    )
    check.add_argument(
        "--uas",
        action="store_true",
        help="check as an element that only answers requests: no Max-Forwards or "
        "Proxy-Require checks (implies nothing without --semantic)",
    )
    check.add_argument(
        "--response",
        action="store_true",
        help="with --semantic, also print the full response a server would send",
    )
    check.set_defaults(handler=run_check)

    convert = actions.add_parser(
        "convert",
        help="print a message in the other spelling (SIP-C ⇄ SIP)",
        description="Print the message in FILE spelled as SIP or as SIP-C (bytes to stdout).",
    )
    convert.add_argument("file", metavar="FILE", help="a message file, or - for stdin")
    direction = convert.add_mutually_exclusive_group(required=True)
    direction.add_argument("--to", choices=("sip", "sipc", "mcp"), help="target spelling")
    direction.add_argument(
        "--from", dest="from_", choices=("mcp",), help="read FILE as MCP; print the text message"
    )
    convert.add_argument(
        "--domain", help="SIP domain for bare SIP-C identifiers (--to sip; fetion.com.cn)"
    )
    convert.add_argument(
        "--version",
        dest="sipc_version",
        choices=SIPC_VERSIONS,
        help="SIP-C version to write (--to sipc; SIP-C/4.0)",
    )
    convert.set_defaults(handler=run_convert)


def _shown(text: str) -> str:
    """Text safe to print: bytes that are not UTF-8 (file names, reasons) become ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _error(command: str, message: str) -> None:
    print(f"columba sip {command}: {_shown(message)}", file=sys.stderr)


def _read(name: str, command: str) -> bytes | None:
    """The bytes of file ``name`` (stdin for ``-``), or ``None`` after reporting the error."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        with open(name, "rb") as file:
            return file.read()
    except OSError as exc:
        _error(command, f"cannot read {name}: {exc.strerror or exc}")
        return None


def _indent(data: bytes) -> str:
    text = _shown(data.decode("utf-8", "surrogateescape"))
    return "".join(f"  {line}\n" for line in text.split("\r\n") if line)


def verdict_line(data: bytes, *, semantic: bool, policy: ServerPolicy) -> tuple[str, bytes]:
    """The verdict on one message file and, for a semantic rejection, the response to send.

    Returns:
        ``("accept", b"")``, ``("reject STATUS REASON", response)`` (the response is empty for
        a syntax rejection) or ``("discard REASON", b"")``.
    """
    message: Message
    try:
        message = parse_message(data, datagram=True)
        validate(message)
    except ParseError as exc:
        return f"reject {exc.status} {exc.reason}", b""
    if not semantic:
        return "accept", b""
    outcome = check_message(message, policy=policy)
    if outcome is None:
        return "accept", b""
    if isinstance(outcome, Discard):
        return f"discard {outcome.reason}", b""
    response = serialize(outcome.response_to(message)) if isinstance(message, Request) else b""
    return f"reject {outcome.status} {outcome.reason}", response


def run_check(args: argparse.Namespace) -> int:
    """``columba sip check``: print a verdict per file; 0 all accepted, 1 any not, 2 unreadable."""
    policy = ServerPolicy(is_proxy=not args.uas)
    status = 0
    for name in args.files:
        data = _read(name, "check")
        if data is None:
            status = 2
            continue
        line, response = verdict_line(data, semantic=args.semantic, policy=policy)
        print(f"{_shown(name)}: {_shown(line)}")
        if args.response and response:
            print(_indent(response), end="")
        if line != "accept":
            status = max(status, 1)
    sys.stdout.flush()
    return status


def run_convert(args: argparse.Namespace) -> int:
    """``columba sip convert``: write the message in the other spelling to stdout."""
    if args.to == "mcp" or args.from_ == "mcp":
        from columba.cli_mcp import run_sip_convert

        return run_sip_convert(args.file, to_mcp=args.to == "mcp")
    if args.to == "sip" and args.sipc_version is not None:
        _error("convert", "--version applies to --to sipc only")
        return 2
    if args.to == "sipc" and args.domain is not None:
        _error("convert", "--domain applies to --to sip only")
        return 2
    data = _read(args.file, "convert")
    if data is None:
        return 2
    try:
        message = parse_message(data, datagram=True)
    except ParseError as exc:
        _error("convert", f"{args.file}: cannot parse: {exc.status} {exc.reason}")
        return 1
    if message.is_sipc == (args.to == "sipc"):
        spelling = "SIP-C" if message.is_sipc else "SIP"
        _error("convert", f"{args.file} is already spelled as {spelling}")
        return 1
    # Imported here so that ``columba sip check`` works whatever the state of the dialect.
    from columba.protocol.sipc.dialect import to_sip, to_sipc

    if args.to == "sip":
        converted = to_sip(message, domain=args.domain or "fetion.com.cn")
    else:
        converted = to_sipc(message, version=args.sipc_version or SIPC_VERSIONS[0])
    sys.stdout.flush()
    sys.stdout.buffer.write(serialize(converted))
    sys.stdout.buffer.flush()
    return 0
