"""Columba: a converged instant-messaging and SMS server (SIP, SIP-C, MCP, SMPP)."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
