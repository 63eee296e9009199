"""Per-image verdicts against a stack's pools: what counts as ok."""

from __future__ import annotations

from armful.core.arch import Arch
from armful.core.pools import PoolPlan, pool_from_description
from armful.images.registry import ErrorKind, ImagePlatforms
from armful.planning.image_readiness import ImageNeed, ImageVerdict

READ = ImagePlatforms(image="app:v1", digest="sha256:1", platforms=("linux/arm64",), error=None)
UNREAD = ImagePlatforms(
    image="app:v1",
    digest=None,
    platforms=(),
    error="registry example.com unreachable: connection refused",
    error_kind=ErrorKind.UNREACHABLE,
)


def _pool(name: str, arch: Arch) -> PoolPlan:
    return pool_from_description(name, "workers", arch.value)


def test_an_image_needed_on_no_pool_is_ok_only_if_it_was_read() -> None:
    # An add-on workload that lands on no pool: nothing to judge, but an unread image is still unknown.
    stranded = ImageNeed("app:v1", used_by=["addon/agent"])
    assert ImageVerdict(stranded, READ).ok is True
    unread = ImageVerdict(stranded, UNREAD)
    assert unread.ok is False and unread.per_pool == {}
    assert unread.to_json()["ok"] is False


def test_an_image_with_an_error_is_never_ok() -> None:
    need = ImageNeed("app:v1", used_by=["workload/api"], pools={"arm": _pool("arm", Arch.ARM64)})
    assert ImageVerdict(need, READ).ok is True
    assert ImageVerdict(need, UNREAD).ok is False
    assert ImageVerdict(need, UNREAD).per_pool == {"arm": None}
    mixed = ImageNeed("app:v1", pools={"arm": _pool("arm", Arch.ARM64), "x86": _pool("x86", Arch.AMD64)})
    assert ImageVerdict(mixed, READ).per_pool == {"arm": True, "x86": False}
    assert ImageVerdict(mixed, READ).ok is False
