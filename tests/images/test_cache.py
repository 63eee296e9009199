"""The on-disk cache and ``check_images``: hits without network, refresh, stale fallback."""

from __future__ import annotations

import json
import logging
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from armful.cli.main import main
from armful.core.user_cache import user_secret
from armful.images.cache import ImageCache, default_cache_dir
from armful.images.readiness import check_images
from armful.images.registry import ErrorKind, ImagePlatforms, RegistryClient

from .images_testkit import Seeded, closed_port
from .test_readiness_command import write_stack

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


# ------------------------------------------------------------------------------------ entries cannot lie

AMD64 = ("linux/amd64",)


def _edit(cache: ImageCache, image: str, **changes: object) -> None:
    path = cache.path_for(image)
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def _swap_in(cache: ImageCache, image: str, other: str, **changes: object) -> None:
    """Put ``other``'s entry (signed, genuine) where ``image``'s belongs, edited by ``changes``."""
    document = json.loads(cache.path_for(other).read_text())
    document.update(changes)
    cache.path_for(image).write_text(json.dumps(document))


TAMPERING: dict[str, Callable[[ImageCache, str, str, Clock], None]] = {
    "platforms widened": lambda c, image, other, clock: _edit(c, image, platforms=list(BOTH)),
    "digest changed": lambda c, image, other, clock: _edit(c, image, digest=DIGEST),
    "dated in the future": lambda c, image, other, clock: _edit(
        c, image, cached_at=clock.now + 10 * 365 * 86400
    ),
    "redated to now after expiry": lambda c, image, other, clock: (
        setattr(clock, "now", clock.now + 2 * 3600),
        _edit(c, image, cached_at=clock.now),
    ),
    "another image's file": lambda c, image, other, clock: _swap_in(c, image, other),
    "another image's file, renamed": lambda c, image, other, clock: _swap_in(
        c, image, other, reference=json.loads(c.path_for(image).read_text())["reference"]
    ),
    "signature removed": lambda c, image, other, clock: _edit(c, image, mac=None),
    "the old unsigned format": lambda c, image, other, clock: _edit(
        c, image, version=1, mac=None, pinned=True
    ),
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_an_edited_entry_is_a_miss_and_the_registry_is_asked_again(
    seeded: Seeded, cache: ImageCache, clock: Clock, make_client: Factory, tampering: str
) -> None:
    image, other = f"{seeded.host}/single:oci", f"{seeded.host}/multi:v1"  # amd64 only; both arches
    check_images([image], cache=cache, client=make_client())
    cache.put(_answer(other))  # a genuine entry of another image, to swap in
    assert cache.get(image) is not None  # a genuine entry is a hit
    TAMPERING[tampering](cache, image, other, clock)
    assert cache.get(image) is None
    assert cache.get_stale(image, reason="offline") is None  # not even as a last resort
    [result] = check_images([image], cache=cache, client=make_client())
    assert not result.from_cache and result.platforms == AMD64 and result.error is None
    rewritten = cache.get(image)
    assert rewritten is not None and rewritten.platforms == AMD64


def test_an_entry_dated_in_the_future_is_a_miss_even_when_genuine(cache: ImageCache, clock: Clock) -> None:
    # Written by a clock a year ahead (or forged with the key): it would otherwise never expire.
    ImageCache(cache.directory, ttl=3600, clock=lambda: clock.now + 365 * 86400).put(_answer("app:v1"))
    assert cache.get("app:v1") is None and cache.get_stale("app:v1", reason="offline") is None


def test_pinned_is_read_from_the_reference_never_from_the_file(cache: ImageCache, clock: Clock) -> None:
    cache.put(_answer("app:v1"))
    _edit(cache, "app:v1", pinned=True)  # not a signed field: nothing Armful reads
    clock.now += 2 * 3600
    assert cache.get("app:v1") is None  # a tag's entry expires whatever the file says
    entry = cache.entry("app:v1")
    assert entry is not None and not entry.pinned


def test_a_pinned_reference_keeps_only_its_own_digest(cache: ImageCache) -> None:
    pinned = f"app@{DIGEST}"
    assert not cache.put(
        ImagePlatforms(image=pinned, digest="sha256:" + "ef" * 32, platforms=BOTH, error=None)
    )
    assert cache.get(pinned) is None
    assert cache.put(_answer(pinned))
    entry = cache.entry(pinned)
    assert entry is not None and entry.pinned and entry.digest == DIGEST


def test_plan_does_not_place_an_amd64_only_image_on_arm_from_an_edited_entry(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"{seeded.host}/single:oci"
    stack = write_stack(tmp_path, "all-arm", [{"name": "api", "images": [image], "arches": ["amd64"]}])
    main(["readiness", "--stack-file", str(stack)])
    cache = ImageCache()
    assert cache.get(image) is not None
    _edit(cache, image, platforms=list(BOTH), pinned=True)
    capsys.readouterr()
    assert main(["plan", "--stack-file", str(stack), "--format", "json"]) == 1
    errors = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["level"] == "error"]
    assert [f["code"] for f in errors] == ["wrong-arch"] and image in errors[0]["message"]


# ----------------------------------------------------------------------------------------------- the key


def test_the_key_is_private_made_once_and_kept_outside_the_cache(tmp_path: Path) -> None:
    key_file = tmp_path / "xdg-config" / "armful" / "image-cache.key"
    cache = ImageCache()
    assert cache.key_file == key_file
    assert cache.get("app:v1") is None and not key_file.exists()  # reading makes nothing
    assert cache.put(_answer("app:v1"))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert cache.directory not in key_file.parents
    secret = key_file.read_text()
    assert ImageCache().put(_answer("other:v1")) and key_file.read_text() == secret


def test_racing_first_uses_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "config" / "key"
    start = threading.Barrier(8)

    def first_use() -> bytes | None:
        start.wait()
        return user_secret(path, create=True)

    with ThreadPoolExecutor(8) as pool:
        secrets = list(pool.map(lambda _: first_use(), range(8)))
    assert len(set(secrets)) == 1 and secrets[0] is not None and len(secrets[0]) == 32
    assert [p.name for p in path.parent.iterdir()] == ["key"]  # no temporary file left behind


def test_a_cache_restored_without_its_key_is_all_misses(
    cache: ImageCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CI cache restored from another job, or copied from another user, brings no key that vouches for it.
    cache.put(_answer("app:v1"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    elsewhere = ImageCache(cache.directory, ttl=3600, clock=cache._clock)
    assert elsewhere.get("app:v1") is None
    assert elsewhere.put(_answer("app:v1")) and elsewhere.get("app:v1") is not None


def _loose(key: Path) -> None:
    key.chmod(0o644)


def _symlinked(key: Path) -> None:
    target = key.with_name("elsewhere")
    key.rename(target)
    key.symlink_to(target)


def _short(key: Path) -> None:
    key.write_text("abcd\n")


@pytest.mark.parametrize(
    "spoil", [_loose, _symlinked, _short], ids=["readable by others", "a symlink", "not a key"]
)
def test_a_key_that_cannot_be_trusted_turns_the_cache_off_and_says_why(
    seeded: Seeded,
    cache: ImageCache,
    make_client: Factory,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[Path], None],
) -> None:
    image = f"{seeded.host}/single:oci"
    check_images([image], cache=cache, client=make_client())
    spoil(cache.key_file)
    spoilt = ImageCache(cache.directory, ttl=3600, clock=cache._clock)
    with caplog.at_level(logging.WARNING, logger="armful.images.cache"):
        results = check_images([image, image], cache=spoilt, client=make_client())
    assert [r.from_cache for r in results] == [False, False] and results[0].platforms == AMD64
    assert not spoilt.put(_answer("app:v1"))
    (warning,) = [record.getMessage() for record in caplog.records]
    assert warning.startswith(f"image cache not used: {cache.key_file}")
