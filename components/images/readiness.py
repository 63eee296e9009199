"""Arm readiness of a list of images: cache and registry combined, a table for people, a progress bar.

These are building blocks for the ``readiness`` command and the stack/pool verdicts; they print
nothing themselves, except the progress bar, which writes only to a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from armful.core.arch import Arch
from armful.images.cache import ImageCache
from armful.images.registry import NETWORK_ERROR_KINDS, ImagePlatforms, RegistryClient

ProgressCallback = Callable[[int, int, str], None]
"""``(done, total, reference just read)``; the reference is empty at the start."""


class _DefaultCache:
    """Sentinel type: ``check_images`` without ``cache=`` uses the user's on-disk cache."""


DEFAULT_CACHE = _DefaultCache()


def check_images(
    refs: Sequence[str],
    *,
    cache: ImageCache | _DefaultCache | None = DEFAULT_CACHE,
    refresh: bool = False,
    client: RegistryClient | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[ImagePlatforms]:
    """One result per reference, in order; never raises for a single image.

    ``cache=None`` disables caching; by default the user's cache directory is used. ``refresh=True``
    asks every registry and ignores what is cached (answers are still stored). Without ``refresh``, a
    reference whose registry cannot be reached falls back to its cached entry, however old, marked
    ``stale``. ``on_progress(done, total, reference)`` counts distinct references, cache hits included.
    """
    store = ImageCache() if isinstance(cache, _DefaultCache) else cache
    unique = list(dict.fromkeys(refs))
    total = len(unique)
    results: dict[str, ImagePlatforms] = {}
    if store is not None and not refresh:
        for image in unique:
            hit = store.get(image)
            if hit is not None:
                results[image] = hit
    misses = [image for image in unique if image not in results]
    hits = len(results)

    if not misses:
        if on_progress:
            on_progress(total, total, "")
        return [results[image] for image in refs]

    def progress(done: int, _: int, image: str) -> None:
        if on_progress:
            on_progress(hits + done, total, image)

    registry = client if client is not None else RegistryClient()
    try:
        fetched = registry.platforms_of(misses, on_progress=progress)
    finally:
        if client is None:
            registry.close()

    for image, result in zip(misses, fetched, strict=True):
        if store is not None:
            if result.error is None:
                store.put(result)
            elif not refresh and result.error_kind in NETWORK_ERROR_KINDS:
                stale = store.get_stale(image, reason=result.error)
                if stale is not None:
                    result = stale
        results[image] = result
    return [results[image] for image in refs]


def _mark(result: ImagePlatforms, arch: Arch) -> str:
    has = result.has_arch(arch)
    return "?" if has is None else ("yes" if has else "NO")


def _note(result: ImagePlatforms) -> str:
    if result.error is not None:
        return result.error
    extra = [p for p in result.platforms if p not in {a.platform for a in Arch}]
    notes = [f"also {', '.join(extra)}"] if extra else []
    if result.stale and result.cached_at is not None:
        when = datetime.fromtimestamp(result.cached_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        notes.append(f"stale: cached {when}, registry not reached ({result.stale_reason})")
    return "; ".join(notes)


def readiness_table(
    results: Sequence[ImagePlatforms], arches: Sequence[Arch] = (Arch.AMD64, Arch.ARM64)
) -> str:
    """A plain-text table (one row per image) and a summary line; ``?`` marks an image not read."""
    header = ["IMAGE", *(arch.value for arch in arches), "NOTE"]
    rows = [[r.image, *(_mark(r, arch) for arch in arches), _note(r)] for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: list[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=True)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    ready = sum(1 for r in results if r.has_arch(Arch.ARM64) is True)
    lacking = sum(1 for r in results if r.has_arch(Arch.ARM64) is False)
    unknown = sum(1 for r in results if r.has_arch(Arch.ARM64) is None)
    stale = sum(1 for r in results if r.stale)
    summary = f"{len(results)} images: {ready} with arm64, {lacking} without arm64, {unknown} unknown"
    if stale:
        summary += f" ({stale} from a stale cache)"
    return "\n".join([line(header), *(line(row) for row in rows), "", summary]) + "\n"
