"""The group server: SIP-C ``PG`` operations, group messages, and the hand-off to robots.

- :mod:`.service`: posting (store for every member device, wake the online ones, queue the
  robots' events) and telling members what changed (``BN PGGroup``).
- :mod:`.operations`: the ``S`` operations (``PGGetGroupList`` … ``PGAddRobot``).
- :mod:`.handlers`: the entry points the IM server's dispatch table and messaging hook call.
"""
