"""Cluster mode from the configuration: a node joins when ``[registry] url`` is Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from columba.cluster.peers import ClusterNode, new_epoch
from columba.cluster.redis_io import RedisLocations
from columba.config import Config, ConfigError

if TYPE_CHECKING:
    from columba.servers.im.server import ImServer


def is_clustered(config: Config) -> bool:
    """True when the configuration puts the node in a cluster (a Redis registry)."""
    return config.registry.url.partition("://")[0].lower() in ("redis", "rediss")


def join(config: Config, im: ImServer) -> ClusterNode | None:
    """The node's cluster membership, or None for the embedded single-node default.

    Raises:
        ConfigError: A Redis registry with SQLite storage (nodes cannot share SQLite).
    """
    if not is_clustered(config):
        return None
    if not config.storage.url.lower().startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            ["[registry] url is Redis (cluster mode), so [storage] url must be PostgreSQL"]
        )
    redis = RedisLocations.from_url(
        config.registry.url,
        namespace=config.registry.namespace,
        node=config.server.node_name,
        epoch=new_epoch(),
        lease=float(config.registry.lease_seconds),
    )
    node = ClusterNode(im=im, redis=redis)
    im.registry.remote = node
    return node
