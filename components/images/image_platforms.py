"""What reading one image answers: the platforms it is published for, or why they are unknown.

Kept apart from the HTTP code so that the cache and the readiness report, which only handle answers,
do not depend on how the registry was asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from armful.core.arch import Arch


class ErrorKind(StrEnum):
    """Why an image could not be read; lets callers (the cache) tell an outage from a wrong tag."""

    INVALID_REFERENCE = "invalid-reference"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    NOT_FOUND = "not-found"
    MISSING_CHILD = "missing-child"
    UNAUTHORIZED = "unauthorized"
    DENIED = "denied"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    PROTOCOL = "protocol"
    MALFORMED = "malformed"
    UNSUPPORTED = "unsupported"
    NO_PLATFORMS = "no-platforms"
    DIGEST_MISMATCH = "digest-mismatch"
    TOO_MANY_CHILDREN = "too-many-children"  # an index that would need more reads than one image may cost
    INSECURE = "insecure"  # plain HTTP to a host not trusted with it (a redirect or a token service)
    INTERNAL = "internal"


# The registry could not be asked; a cached answer is better than none. A 404 or a bad manifest is
# an answer, and must not be papered over with an old one.
NETWORK_ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED, ErrorKind.SERVER_ERROR}
)


def _normalise_platforms(platforms: Iterable[str]) -> tuple[str, ...]:
    # A node's kubelet matches on os/arch; variants (arm64/v8) would only split equal entries apart.
    return tuple(sorted({"/".join(p.split("/")[:2]) for p in platforms if p}))


@dataclass(frozen=True)
class ImagePlatforms:
    """What one image reference is published for, or why that is unknown.

    Invariant: ``error`` set ⇒ ``platforms`` empty, so no code path can treat an unread image as ready.
    A result served from the cache has ``cached_at``; one used past its time limit because the registry
    could not be reached has ``stale`` and ``stale_reason`` (the network error).
    """

    image: str
    digest: str | None
    platforms: tuple[str, ...]
    error: str | None
    error_kind: ErrorKind | None = None
    cached_at: float | None = None
    stale: bool = False
    stale_reason: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None and self.platforms:
            raise ValueError(f"{self.image}: an image that could not be read has no platforms")
        object.__setattr__(self, "platforms", _normalise_platforms(self.platforms))

    @property
    def from_cache(self) -> bool:
        return self.cached_at is not None

    def has_arch(self, arch: Arch) -> bool | None:
        """True/False when the platforms were read; None when they are unknown (error)."""
        if self.error is not None:
            return None
        return arch.platform in self.platforms

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "platforms": list(self.platforms),
            "error": self.error,
        }


class ImageError(Exception):
    """A failure for one image, raised anywhere in transport, auth or manifest walking and carried up to
    the per-image boundary in ``RegistryClient``, where it becomes an ``ImagePlatforms`` error."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
