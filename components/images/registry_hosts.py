"""Which registry hosts are this machine's own, and which may be spoken to without TLS.

Kept apart from the HTTP client so that what only needs the rule (rendering charts from a loopback OCI
registry) does not load it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def host_of(registry: str) -> str:
    if registry.startswith("["):
        return registry[1 : registry.index("]")]
    return registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry


def is_loopback(registry: str) -> bool:
    """True for a literal loopback address (127.0.0.0/8, ``::1``) or exactly ``localhost``, with or
    without a port. Any other name, ``*.localhost`` included, is resolved like every name is, so it is
    not trusted to stay on this machine."""
    host = host_of(registry).lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 for IPv4, exactly ::1 for IPv6
    except ValueError:
        return False


def plain_http_allowed(registry: str, insecure_registries: Iterable[str] = ()) -> bool:
    """Whether ``host[:port]`` may be spoken to without TLS: loopback, or listed (with or without port)."""
    insecure = {entry.strip().lower() for entry in insecure_registries}
    return is_loopback(registry) or registry.lower() in insecure or host_of(registry).lower() in insecure
