"""``columba check-config [--config FILE] [--data-dir DIR]``: validate the configuration.

Reads the configuration exactly as ``columba serve`` does (the file, then the ``COLUMBA_``
environment overrides, then ``--data-dir``; see :mod:`columba.config`) and prints
``config OK`` followed by the effective values, secrets masked. On a problem it prints every
error found, one per line, to standard error. Exit status: 0 valid, 2 invalid or unreadable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from columba.config import ConfigError, load_config


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba check-config`` to the ``columba`` parser."""
    check = commands.add_parser(
        "check-config",
        help="validate the configuration and print the effective values",
        description=(
            "Load the configuration as 'columba serve' would (the TOML file, then the "
            "COLUMBA_<TABLE>_<KEY> environment variables, then --data-dir) and print "
            "'config OK' with the effective values, or every error found."
        ),
        epilog="Exit status: 0 when the configuration is valid, 2 when it is not.",
    )
    add_config_arguments(check)
    check.set_defaults(handler=run_check_config)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and ``--data-dir``, shared by every command that loads the config."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the TOML configuration file (default: none, the built-in defaults)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where Columba keeps its files; overrides [server] data_dir",
    )


def run_check_config(args: argparse.Namespace) -> int:
    """``columba check-config``: 0 and the effective configuration, or 2 and every error."""
    try:
        config = load_config(args.config, data_dir=args.data_dir)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"columba check-config: {line}", file=sys.stderr)
        count = len(exc.errors)
        print(f"columba check-config: {count} error{'s' * (count != 1)}", file=sys.stderr)
        return 2
    print("config OK")
    print(config.describe(), end="")
    return 0
