"""Groups and their robots: the rules, free of I/O (roles, permissions, read scopes, loops).

The group server (:mod:`columba.servers.groups`) and the robot server (:mod:`columba.robots`)
apply these rules; the store (:mod:`columba.storage.groups`) keeps the state.
"""
