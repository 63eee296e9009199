"""The on-disk cache and ``check_images``: hits without network, refresh, stale fallback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from armful.images.cache import ImageCache, default_cache_dir
from armful.images.readiness import check_images
from armful.images.registry import ErrorKind, ImagePlatforms, RegistryClient

from .images_testkit import Seeded, closed_port

Factory = Callable[..., RegistryClient]
BOTH = ("linux/amd64", "linux/arm64")
DIGEST = "sha256:" + "cd" * 32


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _answer(image: str, platforms: tuple[str, ...] = BOTH) -> ImagePlatforms:
    return ImagePlatforms(image=image, digest=DIGEST, platforms=platforms, error=None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> ImageCache:
    return ImageCache(tmp_path / "cache", ttl=3600, clock=clock)


def test_hit_within_ttl_needs_no_network(cache: ImageCache, clock: Clock, make_client: Factory) -> None:
    image = f"127.0.0.1:{closed_port()}/app:v1"  # nothing listens: any request would fail
    assert cache.put(_answer(image))
    clock.now += 3000
    progress: list[tuple[int, int]] = []
    [result] = check_images(
        [image], cache=cache, client=make_client(), on_progress=lambda d, t, _: progress.append((d, t))
    )
    assert result.error is None and result.platforms == BOTH and result.digest == DIGEST
    assert result.from_cache and not result.stale
    assert progress == [(1, 1)]


def test_refresh_bypasses_cache_and_updates_it(
    seeded: Seeded, cache: ImageCache, make_client: Factory
) -> None:
    image = f"{seeded.host}/multi:v1"
    cache.put(_answer(image, ("linux/s390x",)))
    [result] = check_images([image], cache=cache, refresh=True, client=make_client())
    assert result.platforms == BOTH and not result.from_cache
    cached = cache.get(image)
    assert cached is not None and cached.platforms == BOTH and cached.digest == seeded.multi_digest


def test_refresh_does_not_fall_back_to_cache(cache: ImageCache, make_client: Factory) -> None:
    image = f"127.0.0.1:{closed_port()}/app:v1"
    cache.put(_answer(image))
    [result] = check_images([image], cache=cache, refresh=True, client=make_client())
    assert result.error_kind is ErrorKind.UNREACHABLE and result.platforms == ()


def test_expired_and_unreachable_falls_back_marked_stale(
    cache: ImageCache, clock: Clock, make_client: Factory
) -> None:
    port = closed_port()
    image = f"127.0.0.1:{port}/app:v1"
    cache.put(_answer(image))
    clock.now += 10 * 24 * 3600
    assert cache.get(image) is None  # past its time limit
    [result] = check_images([image], cache=cache, client=make_client())
    assert result.stale and result.from_cache
    assert result.error is None and result.platforms == BOTH
    assert result.stale_reason == f"registry 127.0.0.1:{port} unreachable: connection refused"


def test_expired_entry_is_refetched_when_registry_answers(
    seeded: Seeded, cache: ImageCache, clock: Clock, make_client: Factory
) -> None:
    image = f"{seeded.host}/single:v1"
    cache.put(_answer(image, ("linux/s390x",)))
    clock.now += 2 * 3600
    [result] = check_images([image], cache=cache, client=make_client())
    assert result.platforms == ("linux/arm64",) and not result.from_cache and not result.stale


def test_expired_entry_does_not_hide_a_missing_tag(
    seeded: Seeded, cache: ImageCache, clock: Clock, make_client: Factory
) -> None:
    image = f"{seeded.host}/multi:v9"
    cache.put(_answer(image))
    clock.now += 2 * 3600
    [result] = check_images([image], cache=cache, client=make_client())
    assert result.error_kind is ErrorKind.NOT_FOUND and not result.stale and result.platforms == ()


def test_errors_are_not_cached(seeded: Seeded, cache: ImageCache, make_client: Factory) -> None:
    image = f"{seeded.host}/multi:v9"
    check_images([image], cache=cache, client=make_client())
    assert cache.entry(image) is None
    assert not cache.put(ImagePlatforms(image=image, digest=None, platforms=(), error="boom"))


def test_digest_pinned_entries_do_not_expire(cache: ImageCache, clock: Clock) -> None:
    image = f"127.0.0.1:5000/app@{DIGEST}"
    cache.put(_answer(image))
    clock.now += 365 * 24 * 3600
    assert cache.get(image) is not None


def test_spellings_of_one_reference_share_an_entry(cache: ImageCache) -> None:
    cache.put(_answer("nginx"))
    hit = cache.get("docker.io/library/nginx:latest")
    assert hit is not None and hit.image == "docker.io/library/nginx:latest" and hit.platforms == BOTH


def test_corrupt_or_foreign_files_are_misses(cache: ImageCache) -> None:
    image = "quay.io/jetstack/cert-manager-controller:v1.21.1"
    cache.put(_answer(image))
    path = cache.path_for(image)
    path.write_text("{not json")
    assert cache.get(image) is None
    path.write_text(
        json.dumps({"version": 1, "reference": "other", "platforms": ["linux/arm64"], "cached_at": 0})
    )
    assert cache.entry(image) is None


def test_unwritable_cache_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert not ImageCache(blocker / "sub").put(_answer("nginx"))


def test_default_cache_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "armful" / "images"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "armful" / "images"


def test_check_images_uses_default_cache_and_counts_progress(
    seeded: Seeded, make_client: Factory, tmp_path: Path
) -> None:
    h = seeded.host
    refs = [f"{h}/multi:v1", f"{h}/single:oci", f"{h}/multi:v1", f"{h}/multi:v9"]
    progress: list[tuple[int, int]] = []
    results = check_images(refs, client=make_client(), on_progress=lambda d, t, _: progress.append((d, t)))
    assert [r.image for r in results] == refs
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    written = list((tmp_path / "xdg-cache" / "armful" / "images").glob("*.json"))
    assert len(written) == 2  # the two answers; the missing tag is not cached

    progress.clear()
    again = check_images(refs, client=make_client(), on_progress=lambda d, t, _: progress.append((d, t)))
    assert [r.from_cache for r in again] == [True, True, True, False]
    assert progress[0] == (2, 3) and progress[-1] == (3, 3)
