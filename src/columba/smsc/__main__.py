"""``python -m columba.smsc``: run the SMSC simulator alone (for ``columba phone`` and for an
SMS server under test), until interrupted.

Usage::

    python -m columba.smsc [--listen HOST:PORT] [--control HOST:PORT|off]
                           [--account SYSTEM_ID:PASSWORD ...]

The SMPP listener defaults to 127.0.0.1:2775 and the control channel to the SMPP port plus
one; ``--account`` (repeatable) replaces the default ``columba:columba`` account.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from columba.smsc import CONTROL_PORT_OFFSET, Account, SmscConfig, SmscSimulator


def split_address(text: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``(host, port)`` from ``HOST:PORT``, ``[v6]:PORT`` or ``:PORT``.

    Raises:
        ValueError: not an address.
    """
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") or default_host
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"bad address {text!r} (expected HOST:PORT)")
    return host, int(port)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator; return the exit status (2 for a usage error)."""
    parser = argparse.ArgumentParser(prog="python -m columba.smsc", description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:2775", metavar="HOST:PORT")
    parser.add_argument("--control", metavar="HOST:PORT|off")
    parser.add_argument("--account", action="append", metavar="SYSTEM_ID:PASSWORD")
    args = parser.parse_args(argv)
    try:
        host, port = split_address(args.listen)
        control: tuple[str, int] | None = (host, port + CONTROL_PORT_OFFSET)
        if args.control == "off":
            control = None
        elif args.control:
            control = split_address(args.control)
        accounts = tuple(
            Account(system_id=system_id, password=password)
            for system_id, _, password in (a.partition(":") for a in args.account or ())
        )
    except ValueError as exc:
        parser.error(str(exc))
    config = SmscConfig(accounts=accounts) if accounts else SmscConfig()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    simulator = SmscSimulator(config)
    print(f"SMSC simulator: SMPP on {host}:{port}, control on {control}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(simulator.run(host=host, port=port, control=control))
    return 0


if __name__ == "__main__":
    sys.exit(main())
