"""The ``columba`` command: an argparse front end whose subcommands live in their own modules.

Each command module exposes ``register(subparsers)``, which adds its parser and sets the
``handler`` default to a function taking the parsed arguments and returning the exit status.
Adding a command (``serve``, ``check-config`` …) is a new ``cli_<name>.py`` and one line in
:data:`COMMANDS`.

Exit statuses: 0 success, 1 the command ran and found a problem (a rejected message), 2 a usage
error or unreadable input (argparse's own convention).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from columba import (
    __version__,
    cli_chat,
    cli_config,
    cli_groups,
    cli_mcp,
    cli_phone,
    cli_serve,
    cli_sip,
    cli_user,
)

#: A command module's entry point: add a subparser to the ``columba`` parser.
Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

#: Every top-level command, in the order ``columba --help`` lists them.
COMMANDS: tuple[Register, ...] = (
    cli_serve.register,
    cli_user.register,
    cli_groups.register,
    cli_chat.register,
    cli_sip.register,
    cli_mcp.register,
    cli_phone.register,
    cli_config.register,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``columba`` argument parser with every registered command."""
    parser = argparse.ArgumentParser(
        prog="columba",
        description="Columba: a converged IM and SMS server (SIP, SIP-C, MCP, SMPP).",
    )
    parser.add_argument("--version", action="version", version=f"columba {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    commands.required = True
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``columba`` with ``argv`` (``sys.argv[1:]`` when ``None``); return the exit status.

    Usage errors exit through argparse's ``SystemExit(2)`` after printing the usage line.
    """
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
