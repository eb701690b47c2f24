"""Scale-out: several ``columba serve`` nodes sharing PostgreSQL and a Redis location registry.

Cluster mode is on when ``[registry] url`` is ``redis://…`` (or ``rediss://``); each node then
needs a unique ``[server] node_name`` and PostgreSQL storage. The parts:

- :mod:`columba.cluster.layout`: the key layout, entry and notice encodings (sans-I/O);
- :mod:`columba.cluster.redis_io`: the Redis commands (``redis.asyncio``);
- :mod:`columba.cluster.peers`: ``ClusterNode``, the node's cross-node registry;
- :mod:`columba.cluster.local`: what a notice from another node does to this node's devices;
- :mod:`columba.cluster.join`: cluster mode from the configuration.

See ``docs/decisions/0010-redis-location-registry.md`` for why it is built this way.
"""
