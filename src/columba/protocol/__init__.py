"""Sans-I/O protocol code: SIP and SIP-C text messages, and the MCP binary encoding.

Nothing in this package performs I/O or imports anything from the rest of Columba.
"""
