"""``columba serve [--config FILE] [--data-dir DIR]``: run every role in one process.

Prints one ``listening <name> <address>`` line per listener and ``columba ready`` once all
are up; stops cleanly on SIGINT/SIGTERM. Exit status: 0 after a clean stop, 2 for a bad
configuration, 1 when a listener cannot start (the reason is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from columba import affinity
from columba.cli_config import add_config_arguments
from columba.config import ConfigError, load_config
from columba.log import setup_logging


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba serve``."""
    serve = commands.add_parser(
        "serve",
        help="run the server (all roles in one process)",
        description="Run Columba: IM server, web endpoints and the other roles, on the "
        "listeners of the configuration (embedded default: SQLite in the data directory).",
    )
    add_config_arguments(serve)
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """``columba serve``."""
    from columba.servers.node import serve

    try:
        config = load_config(args.config, data_dir=args.data_dir)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"columba serve: {line}", file=sys.stderr)
        return 2
    setup_logging(str(config.log.level), str(config.log.format))
    try:
        # Before anything starts: CPUs this machine does not have are a setting to fix.
        affinity.plan(affinity.parse_cpu_list(config.server.event_loop_cpus))
    except affinity.CpuListError as exc:
        print(f"columba serve: [server] event_loop_cpus: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        return 0
    except ConfigError as exc:  # settings that only conflict once combined (cluster mode)
        for line in exc.errors:
            print(f"columba serve: {line}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"columba serve: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
