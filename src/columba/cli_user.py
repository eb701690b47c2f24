"""``columba user add|list|passwd``: manage accounts from the command line (for scripts too).

``columba user add --number +8613800000001 --name Alice --password-stdin`` reads the password
from standard input (never from the command line, where other users could see it) and prints
the new account's sid and SIP URI. Exit status: 0 done, 1 refused (number taken, short
password), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from columba.cli_config import add_config_arguments
from columba.config import Config, ConfigError, load_config


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``columba user``."""
    user = commands.add_parser("user", help="manage user accounts")
    actions = user.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="create an account")
    add_config_arguments(add)
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--number", help="E.164 mobile number, e.g. +8613800000001")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(handler=run_add)
    listing = actions.add_parser("list", help="list accounts")
    add_config_arguments(listing)
    listing.set_defaults(handler=run_list)


def _config(args: argparse.Namespace) -> Config | None:
    try:
        return load_config(args.config, data_dir=args.data_dir)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"columba user: {line}", file=sys.stderr)
        return None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def run_add(args: argparse.Namespace) -> int:
    """``columba user add``."""
    config = _config(args)
    if config is None:
        return 2
    try:
        password = _read_password(args.password_stdin)
    except ValueError as exc:
        print(f"columba user add: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(_add(config, args.name, args.number, password))


async def _add(config: Config, name: str, number: str | None, password: str) -> int:
    from columba.core.accounts import AccountError, PasswordPolicy, create_account
    from columba.storage import Conflict, open_store

    config.server.data_dir.mkdir(parents=True, exist_ok=True)
    store = await open_store(config.storage.url)
    async with store:
        try:
            account = await create_account(
                store,
                display_name=name,
                password=password,
                number=number,
                realm=config.server.realm,
                policy=PasswordPolicy(min_length=config.accounts.password_min_length),
            )
        except AccountError as exc:
            print(f"columba user add: {exc}", file=sys.stderr)
            return 1
        except Conflict:
            print(f"columba user add: number {number} already has an account", file=sys.stderr)
            return 1
    print(
        f"created sid={account.sid} uri=sip:{account.sid}@{config.server.domain}"
        f" number={account.number or '-'} name={account.display_name}"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """``columba user list``."""
    config = _config(args)
    if config is None:
        return 2
    return asyncio.run(_list(config))


async def _list(config: Config) -> int:
    from columba.storage import open_store

    store = await open_store(config.storage.url)
    async with store:
        after = 0
        while batch := await store.list_accounts(after=after, limit=500):
            for account in batch:
                print(f"{account.sid}\t{account.number or '-'}\t{account.display_name}")
            after = batch[-1].user_id
    return 0
