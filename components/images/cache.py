"""On-disk cache of image platforms, one JSON file per image reference.

Why a cache at all: a stack names dozens of images, Docker Hub allows 100 anonymous manifest GETs per
6 hours per IP, and ``plan`` runs on every edit. Tags move (``latest``, ``v1``), so entries for tags
expire (default 24 h); a digest-pinned reference cannot change, so its entry does not.

Only answers are cached, never errors: a transient failure must not stick for a day. When the registry
cannot be reached, an entry past its time limit is still better than nothing, and is handed out marked
stale so the user sees that the answer is old.

An entry decides where ``plan`` puts a workload, so it must not be able to lie. Each one carries an
HMAC-SHA256, under a per-user secret kept outside the cache directory, of everything it says (reference,
digest, platforms, time); an entry that fails it, names another reference or is dated in the future is
a miss, and the registry is asked again. Whether an entry never expires is read from the reference,
never from the file, and a digest-pinned reference's entry is only ever written with that digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from armful.core.user_cache import UserSecretError, armful_cache_dir, armful_config_dir, user_secret
from armful.images.image_platforms import ImagePlatforms
from armful.images.reference import InvalidReferenceError, parse_reference

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=24)
# 2: entries are signed and no longer say whether they are pinned; version-1 files are misses.
_FORMAT_VERSION = 2
_SIGNED_FIELDS = ("version", "reference", "digest", "platforms", "cached_at")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/armful/images``, else ``~/.cache/armful/images``."""
    return armful_cache_dir("images")


def default_key_file() -> Path:
    """``$XDG_CONFIG_HOME/armful/image-cache.key``, else ``~/.config/armful/image-cache.key``."""
    return armful_config_dir() / "image-cache.key"


def cache_key(image: str) -> str:
    """The canonical reference, so ``nginx`` and ``docker.io/library/nginx:latest`` share an entry."""
    try:
        return str(parse_reference(image))
    except InvalidReferenceError:
        return image.strip()


def pinned_digest(image: str) -> str | None:
    """The digest a reference is pinned to (``name@sha256:...``), or None for a tag."""
    try:
        return parse_reference(image).digest
    except InvalidReferenceError:
        return None


@dataclass(frozen=True)
class CacheEntry:
    key: str
    digest: str | None
    platforms: tuple[str, ...]
    cached_at: float
    pinned: bool  # from the reference: a digest-pinned image can never change

    def age(self, now: float) -> float:
        return max(0.0, now - self.cached_at)


class ImageCache:
    """Reads and writes entries under ``directory``; every failure to do so counts as a miss.

    A broken cache (read-only home, a half-written file, another version's format, an unusable key)
    must never break a readiness check: the registry is always there to ask. ``key_file`` holds the
    secret entries are signed with; it is made (0600) the first time an entry is written.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        ttl: timedelta | float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
        key_file: Path | str | None = None,
    ):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.key_file = Path(key_file) if key_file is not None else default_key_file()
        self.ttl = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
        self._clock = clock
        self._secret: bytes | None = None
        self._key_refused = False

    def path_for(self, image: str) -> Path:
        key = cache_key(image)
        # Hashed names: references contain '/' and ':' and may be longer than a file name allows.
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def entry(self, image: str) -> CacheEntry | None:
        """The stored entry whatever its age, or None when there is none that Armful wrote for it."""
        secret = self._key(create=False)
        if secret is None:
            return None
        key = cache_key(image)
        try:
            document = json.loads(self.path_for(image).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        entry = _entry_from_json(document, key, secret, pinned=pinned_digest(image) is not None)
        if entry is None or entry.cached_at > self._clock():
            return None  # from the future: not written by this clock, whatever it says
        return entry

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
        pinned = pinned_digest(result.image)
        if pinned is not None and result.digest != pinned:
            return False  # the registry client verifies this; an answer that does not is not kept
        secret = self._key(create=True)
        if secret is None:
            return False
        document: dict[str, Any] = {
            "version": _FORMAT_VERSION,
            "reference": cache_key(result.image),
            "digest": result.digest,
            "platforms": list(result.platforms),
            "cached_at": self._clock(),
        }
        document["mac"] = _mac(secret, document)
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

    def _key(self, *, create: bool) -> bytes | None:
        if self._secret is None and not self._key_refused:
            try:
                self._secret = user_secret(self.key_file, create=create)
            except UserSecretError as exc:
                # Said once per cache: every image would repeat it. The registry answers meanwhile.
                self._key_refused = True
                logger.warning("image cache not used: %s", exc)
        return self._secret


def _mac(secret: bytes, document: dict[str, Any]) -> str:
    signed = {name: document.get(name) for name in _SIGNED_FIELDS}
    canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def _entry_from_json(document: Any, key: str, secret: bytes, *, pinned: bool) -> CacheEntry | None:
    if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
        return None
    mac = document.get("mac")
    try:
        if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(secret, document)):
            return None
    except (ValueError, TypeError):  # NaN where a time belongs, a MAC that is not ASCII: not Armful's
        return None
    # Signed, but for another reference: a file copied over this one, or a hash-prefix collision.
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
        key=key, digest=digest, platforms=tuple(platforms), cached_at=float(cached_at), pinned=pinned
    )


def _result(image: str, entry: CacheEntry) -> ImagePlatforms:
    return ImagePlatforms(
        image=image, digest=entry.digest, platforms=entry.platforms, error=None, cached_at=entry.cached_at
    )
