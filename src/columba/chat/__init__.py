"""``columba chat``: a line-based terminal client for two people to talk through Columba.

Parts, each testable without a terminal or a server:

- :mod:`~columba.chat.commands` parses what the user types into command objects;
- :mod:`~columba.chat.roster` keeps the contacts, their names and presence;
- :mod:`~columba.chat.render` turns events into the one-line texts the user reads;
- :mod:`~columba.chat.app` ties them to a logged-in :class:`~columba.client.SipcClient`.

The command-line front end (argparse, password prompt, standard input) is
:mod:`columba.cli_chat`.
"""

from __future__ import annotations

from columba.chat.app import ChatApp
from columba.chat.commands import Command, CommandError, parse_command

__all__ = ["ChatApp", "Command", "CommandError", "parse_command"]
