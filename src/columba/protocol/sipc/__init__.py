"""SIP-C, Fetion's SIP dialect: its names and the conversion to and from SIP spelling."""

from __future__ import annotations

from columba.protocol.sipc.dialect import (
    SIP_TO_SIPC_METHOD,
    SIPC_TO_SIP_METHOD,
    to_sip,
    to_sipc,
)

__all__ = ["SIPC_TO_SIP_METHOD", "SIP_TO_SIPC_METHOD", "to_sip", "to_sipc"]
