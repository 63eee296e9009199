"""On-disk cache of image platforms, one JSON file per image reference.

Why a cache at all: a stack names dozens of images, Docker Hub allows 100 anonymous manifest GETs per
6 hours per IP, and ``plan`` runs on every edit. Tags move (``latest``, ``v1``), so entries for tags
expire (default 24 h); a digest-pinned reference cannot change, so its entry does not.

Only answers are cached, never errors: a transient failure must not stick for a day. When the registry
cannot be reached, an entry past its time limit is still better than nothing, and is handed out marked
stale so the user sees that the answer is old.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from armful.core.user_cache import armful_cache_dir
from armful.images.reference import InvalidReferenceError, parse_reference
from armful.images.registry import ImagePlatforms

DEFAULT_TTL = timedelta(hours=24)
_FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/armful/images``, else ``~/.cache/armful/images``."""
    return armful_cache_dir("images")


def cache_key(image: str) -> str:
    """The canonical reference, so ``nginx`` and ``docker.io/library/nginx:latest`` share an entry."""
    try:
        return str(parse_reference(image))
    except InvalidReferenceError:
        return image.strip()


@dataclass(frozen=True)
class CacheEntry:
    key: str
    digest: str | None
    platforms: tuple[str, ...]
    cached_at: float
    pinned: bool  # digest-pinned reference: the content can never change

    def age(self, now: float) -> float:
        return max(0.0, now - self.cached_at)


class ImageCache:
    """Reads and writes entries under ``directory``; every failure to do so counts as a miss.

    A broken cache (read-only home, a half-written file, another version's format) must never break a
    readiness check: the registry is always there to ask.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        ttl: timedelta | float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.ttl = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
        self._clock = clock

    def path_for(self, image: str) -> Path:
        key = cache_key(image)
        # Hashed names: references contain '/' and ':' and may be longer than a file name allows.
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def entry(self, image: str) -> CacheEntry | None:
        """The stored entry whatever its age, or None."""
        key = cache_key(image)
        try:
            document = json.loads(self.path_for(image).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        return _entry_from_json(document, key)

    def is_fresh(self, entry: CacheEntry) -> bool:
        return entry.pinned or entry.age(self._clock()) <= self.ttl

    def get(self, image: str) -> ImagePlatforms | None:
        """A result for ``image`` from an entry within its time limit, or None."""
        entry = self.entry(image)
        if entry is None or not self.is_fresh(entry):
            return None
        return _result(image, entry)

    def get_stale(self, image: str, reason: str) -> ImagePlatforms | None:
        """Any stored entry, marked stale with ``reason`` (why the registry was not asked), or None."""
        entry = self.entry(image)
        if entry is None:
            return None
        return replace(_result(image, entry), stale=True, stale_reason=reason)

    def put(self, result: ImagePlatforms) -> bool:
        """Store a fresh answer; returns False for errors, results from the cache, or a write failure."""
        if result.error is not None or result.from_cache or not result.platforms:
            return False
        key = cache_key(result.image)
        document = {
            "version": _FORMAT_VERSION,
            "reference": key,
            "image": result.image,
            "digest": result.digest,
            "platforms": list(result.platforms),
            "cached_at": self._clock(),
            "pinned": "@" in key,
        }
        path = self.path_for(result.image)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        except OSError:
            return False
        try:
            # Write-then-rename: parallel runs (CI matrix, two terminals) never see half a file.
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return False
        return True


def _entry_from_json(document: Any, key: str) -> CacheEntry | None:
    if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
        return None
    # The file name is a hash prefix: check the reference to rule out a collision.
    if document.get("reference") != key:
        return None
    platforms, cached_at, digest = (
        document.get("platforms"),
        document.get("cached_at"),
        document.get("digest"),
    )
    if not isinstance(platforms, list) or not platforms or not all(isinstance(p, str) for p in platforms):
        return None
    if not isinstance(cached_at, int | float) or (digest is not None and not isinstance(digest, str)):
        return None
    return CacheEntry(
        key=key,
        digest=digest,
        platforms=tuple(platforms),
        cached_at=float(cached_at),
        pinned=bool(document.get("pinned")),
    )


def _result(image: str, entry: CacheEntry) -> ImagePlatforms:
    return ImagePlatforms(
        image=image, digest=entry.digest, platforms=entry.platforms, error=None, cached_at=entry.cached_at
    )
