"""A hostile index costs a bounded, small number of requests: real 2,000-entry indexes pushed to the real
registry, read through the counting proxy.

Before the bound, the same indexes cost (measured through this proxy): 4,001 requests and 191 s for
2,000 distinct platform-less children, 4,001 requests and 192 s for one child listed 2,000 times, and
2,001 requests (8-10 s) for 2,000 entries with platforms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from armful.images.image_manifests import MANIFEST_ACCEPT, MAX_CHILD_READS
from armful.images.registry import ErrorKind, ImagePlatforms, RegistryClient

from .images_testkit import HOSTILE_ENTRIES, ScriptedProxy

Factory = Callable[..., RegistryClient]
# Far below what the unbounded walk took, far above what a bounded one takes on a loaded CI machine.
SECONDS = 5.0


def _read(proxy: ScriptedProxy, client: RegistryClient, tag: str) -> tuple[ImagePlatforms, list[str], float]:
    """The result, the requests that reached the registry (``METHOD path``) and the seconds it took."""
    before = len(proxy.state.requests)
    started = time.monotonic()
    result = client.platforms_of_one(f"{proxy.host}/plain/hostile:{tag}")
    elapsed = time.monotonic() - started
    sent = [f"{method} {path}" for method, path, _ in proxy.state.requests[before:]]
    return result, sent, elapsed


def _index(host: str, tag: str) -> dict[str, Any]:
    url = f"http://{host}/v2/hostile/manifests/{tag}"
    return dict(httpx.get(url, headers={"Accept": MANIFEST_ACCEPT}, timeout=10).json())


def test_children_listed_many_times_are_read_once_and_artifacts_not_at_all(
    hostile: str, proxy: ScriptedProxy, make_client: Factory
) -> None:
    result, sent, elapsed = _read(proxy, make_client(), "dupes")
    assert result.error is None, result.error
    assert result.platforms == ("linux/amd64", "linux/arm64")
    # The index, each of its two images, and their two configs; not the signature or SBOM entries.
    assert len(sent) == 5, sent
    assert sum("/manifests/sha256:" in request for request in sent) == 2
    assert elapsed < SECONDS


@pytest.mark.parametrize("tag", ["wide", "labels"])
def test_an_index_needing_more_reads_than_the_bound_is_unknown_at_the_cost_of_one_request(
    hostile: str, proxy: ScriptedProxy, make_client: Factory, tag: str
) -> None:
    result, sent, elapsed = _read(proxy, make_client(), tag)
    assert sent == [f"GET /v2/plain/hostile/manifests/{tag}"]
    assert result.error_kind is ErrorKind.TOO_MANY_CHILDREN and result.platforms == ()
    assert result.error == (
        f"manifest of {proxy.host}/plain/hostile:{tag} needs {MAX_CHILD_READS + 1} distinct child "
        f"manifests read; Armful reads at most {MAX_CHILD_READS} for one image, so its platforms are left "
        "unknown rather than paid for with a request per entry"
    )
    assert elapsed < SECONDS


def test_a_platform_is_checked_through_the_one_entry_a_node_would_pull(
    hostile: str, proxy: ScriptedProxy, make_client: Factory
) -> None:
    # 2,000 entries all saying linux/amd64, over distinct children: one HEAD, for the first of them.
    result, sent, elapsed = _read(proxy, make_client(), "amd64")
    assert result.error is None, result.error
    assert result.platforms == ("linux/amd64",)
    first = _index(hostile, "amd64")["manifests"][0]["digest"]
    assert sent == ["GET /v2/plain/hostile/manifests/amd64", f"HEAD /v2/plain/hostile/manifests/{first}"]
    assert elapsed < SECONDS


def test_an_index_at_the_bound_is_read(hostile: str, make_client: Factory) -> None:
    # Straight to the registry: the proxy adds tens of milliseconds to every GET.
    result = make_client().platforms_of_one(f"{hostile}/hostile:bound")
    assert result.error is None, result.error
    assert result.platforms == ("linux/amd64",)


def test_the_hostile_indexes_are_as_large_as_claimed(hostile: str) -> None:
    # Guards the numbers above: the registry really serves 2,000-entry indexes.
    for tag in ("dupes", "wide", "labels", "amd64"):
        assert len(_index(hostile, tag)["manifests"]) == HOSTILE_ENTRIES
