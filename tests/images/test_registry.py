"""RegistryClient against a real ``docker-registry`` (distribution 2.8) and scripted fault servers."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from armful.core.arch import Arch
from armful.images.image_manifests import MANIFEST_ACCEPT
from armful.images.registry import ErrorKind, ImagePlatforms, RegistryClient
from armful.images.registry_auth import parse_www_authenticate
from armful.images.registry_transport import base_url_for, is_loopback

from .images_testkit import (
    AUTH_USER,
    TOKEN_USER,
    RegistryProcess,
    ScriptedProxy,
    Seeded,
    StallServer,
    closed_port,
    write_executable,
)

Factory = Callable[..., RegistryClient]
BOTH = ("linux/amd64", "linux/arm64")


def _by_image(results: list[ImagePlatforms]) -> dict[str, ImagePlatforms]:
    return {r.image: r for r in results}


def _write_docker_config(config: dict[str, object]) -> None:
    """Into the per-test DOCKER_CONFIG directory set by the autouse fixture in conftest."""
    (Path(os.environ["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(config))


def _b64(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


# ------------------------------------------------------------------------------------- reading platforms


def test_platforms_of_every_manifest_kind(seeded: Seeded, make_client: Factory) -> None:
    h = seeded.host
    expected = {
        f"{h}/multi:v1": BOTH,  # OCI index, arm64 entry has variant v8
        f"{h}/dockerlist:v1": ("linux/amd64", "linux/arm", "linux/arm64"),  # Docker manifest list
        f"{h}/single:v1": ("linux/arm64",),  # Docker v2 manifest: arch only in the config blob
        f"{h}/single:oci": ("linux/amd64",),  # OCI manifest: arch only in the config blob
        f"{h}/attested:v1": BOTH,  # unknown/unknown attestation entries skipped
        f"{h}/annotated:v1": ("linux/amd64",),  # attestation-manifest annotation skipped
        f"{h}/multi:nested": BOTH,  # index entry without platform: child index read
        f"{h}/multi@{seeded.multi_digest}": BOTH,
        f"{h}/multi:v1@{seeded.multi_digest}": BOTH,
    }
    results = make_client().platforms_of(list(expected))
    assert [r.image for r in results] == list(expected)
    for result in results:
        assert result.error is None, result.error
        assert result.platforms == expected[result.image], result.image
        assert result.digest and result.digest.startswith("sha256:")
    by_image = _by_image(results)
    assert by_image[f"{h}/multi:v1"].digest == seeded.multi_digest
    assert by_image[f"{h}/single:v1"].has_arch(Arch.ARM64) is True
    assert by_image[f"{h}/single:v1"].has_arch(Arch.AMD64) is False


def test_order_and_duplicates_preserved(seeded: Seeded, make_client: Factory) -> None:
    h = seeded.host
    refs = [f"{h}/single:oci", f"{h}/multi:v1", f"{h}/single:oci"]
    results = make_client(parallelism=2).platforms_of(refs)
    assert [r.image for r in results] == refs
    assert results[0] == results[2]


def test_accept_header_names_all_four_manifest_types(
    seeded: Seeded, proxy: ScriptedProxy, make_client: Factory
) -> None:
    make_client().platforms_of([f"{proxy.host}/plain/multi:v1"])
    # The tag GET and the children's HEADs alike: a registry negotiates on every manifest request.
    accepts = [
        accept for _, path, accept in proxy.state.requests if path.startswith("/v2/plain/multi/manifests/")
    ]
    assert len(accepts) >= 3
    for media_type in (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ):
        assert media_type in MANIFEST_ACCEPT
        assert all(media_type in accept for accept in accepts)


def test_missing_tag_is_a_clear_error(seeded: Seeded, make_client: Factory) -> None:
    h = seeded.host
    missing = make_client().platforms_of_one(f"{h}/multi:v9")
    assert missing.error == f"manifest unknown: tag v9 not found in {h}/multi"
    assert missing.error_kind is ErrorKind.NOT_FOUND
    assert missing.platforms == () and missing.digest is None
    assert missing.has_arch(Arch.ARM64) is None and missing.has_arch(Arch.AMD64) is None


def test_missing_digest_is_a_clear_error(seeded: Seeded, make_client: Factory) -> None:
    digest = "sha256:" + "0" * 64
    result = make_client().platforms_of_one(f"{seeded.host}/multi@{digest}")
    assert result.error == f"manifest unknown: digest {digest} not found in {seeded.host}/multi"


def test_index_of_only_attestations_has_no_platforms(seeded: Seeded, make_client: Factory) -> None:
    result = make_client().platforms_of_one(f"{seeded.host}/onlyattest:v1")
    assert result.error_kind is ErrorKind.NO_PLATFORMS
    assert "no platform listed" in (result.error or "")
    assert result.has_arch(Arch.ARM64) is None


def test_invalid_reference_is_an_error_not_an_exception(make_client: Factory) -> None:
    result = make_client().platforms_of_one("Not A/Reference")
    assert result.error_kind is ErrorKind.INVALID_REFERENCE
    assert "Not A/Reference" in (result.error or "")


def test_redirects_are_followed(seeded: Seeded, proxy: ScriptedProxy, make_client: Factory) -> None:
    # The proxy answers every /v2/redirect/... request with a 307 to the real registry (another origin).
    result = make_client().platforms_of_one(f"{proxy.host}/redirect/multi:v1")
    assert result.error is None, result.error
    assert result.platforms == BOTH


def test_redirect_to_a_host_that_demands_a_token(
    seeded: Seeded, bearer_proxy: ScriptedProxy, redirector: ScriptedProxy, make_client: Factory
) -> None:
    # httpx drops Authorization on the cross-origin redirect, so the token must be presented to the
    # host that asked for it, and reused for the index's children and the config blob.
    refs = [f"{redirector.host}/redirect/plain/multi:v1", f"{redirector.host}/redirect/plain/single:v1"]
    before = len(bearer_proxy.state.token_requests)
    multi, single = make_client().platforms_of(refs)
    assert multi.error is None, multi.error
    assert single.error is None, single.error
    assert multi.platforms == BOTH and single.platforms == ("linux/arm64",)
    scopes = [t["scope"] for t in bearer_proxy.state.token_requests[before:]]
    assert sorted(scopes) == ["repository:plain/multi:pull", "repository:plain/single:pull"]


# ------------------------------------------------------------------------------------------------ faults


def test_faults_are_per_image_and_nothing_hangs(
    seeded: Seeded, proxy: ScriptedProxy, stall: StallServer, make_client: Factory
) -> None:
    down = f"127.0.0.1:{closed_port()}"
    h = seeded.host
    refs = {
        "good": f"{h}/multi:v1",
        "down": f"{down}/app:v1",
        "stall": f"{stall.host}/app:v1",
        "e500": f"{proxy.host}/e500-{uuid.uuid4().hex[:8]}/multi:v1",
        "garbage": f"{proxy.host}/garbage/multi:v1",
        "child": f"{h}/brokenindex:v1",
        "missing": f"{h}/multi:v9",
        "also-good": f"{proxy.host}/plain/single:v1",
    }
    client = make_client(connect_timeout=1.0, read_timeout=0.5)
    started = time.monotonic()
    results = dict(zip(refs, client.platforms_of(list(refs.values())), strict=True))
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"took {elapsed:.1f} s"

    assert results["good"].platforms == BOTH and results["good"].error is None
    assert results["also-good"].platforms == ("linux/arm64",) and results["also-good"].error is None
    assert results["down"].error == f"registry {down} unreachable: connection refused"
    assert results["down"].error_kind is ErrorKind.UNREACHABLE
    assert (results["stall"].error or "").startswith(f"timed out reading manifest of {refs['stall']}")
    assert results["stall"].error_kind is ErrorKind.TIMEOUT
    assert "HTTP 500" in (results["e500"].error or "") and "after 3 attempts" in (results["e500"].error or "")
    assert (results["garbage"].error or "").startswith(f"malformed JSON in manifest of {refs['garbage']}")
    assert (results["child"].error or "").startswith(
        f"index child {seeded.missing_child} (linux/arm64) missing"
    )
    assert results["missing"].error_kind is ErrorKind.NOT_FOUND
    for name in ("down", "stall", "e500", "garbage", "child", "missing"):
        assert results[name].platforms == () and results[name].has_arch(Arch.ARM64) is None, name


def test_stalled_server_finishes_within_timeout(stall: StallServer, make_client: Factory) -> None:
    client = make_client(connect_timeout=0.5, read_timeout=0.4)
    started = time.monotonic()
    result = client.platforms_of_one(f"{stall.host}/app:v1")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"took {elapsed:.1f} s"
    assert (
        result.error
        == f"timed out reading manifest of {stall.host}/app:v1 from {stall.host} (no answer within 0.4 s)"
    )


def test_stalled_registry_is_waited_for_once_per_run(stall: StallServer, make_client: Factory) -> None:
    refs = [f"{stall.host}/a:1", f"{stall.host}/b:1", f"{stall.host}/c:1"]
    started = time.monotonic()
    first, *others = make_client(parallelism=1, read_timeout=0.4).platforms_of(refs)
    assert time.monotonic() - started < 1.0
    assert (
        first.error == f"timed out reading manifest of {refs[0]} from {stall.host} (no answer within 0.4 s)"
    )
    for ref, result in zip(refs[1:], others, strict=True):
        assert result.error_kind is ErrorKind.TIMEOUT
        assert (result.error or "").startswith(
            f"timed out reading manifest of {ref} from {stall.host}: not asked"
        )


def test_unreachable_registry_fails_fast_for_all_its_images(make_client: Factory) -> None:
    down = f"127.0.0.1:{closed_port()}"
    results = make_client().platforms_of([f"{down}/a:1", f"{down}/b:1", f"{down}/c:1"])
    assert all(r.error == f"registry {down} unreachable: connection refused" for r in results)


def test_server_errors_are_retried_then_reported(proxy: ScriptedProxy, make_client: Factory) -> None:
    script = f"e500-{uuid.uuid4().hex[:8]}"
    result = make_client(attempts=3).platforms_of_one(f"{proxy.host}/{script}/multi:v1")
    assert proxy.state.hits[script] == 3
    assert result.error_kind is ErrorKind.SERVER_ERROR
    assert result.error == (
        f"registry {proxy.host} answered HTTP 500 for manifest of {proxy.host}/{script}/multi:v1 after 3 attempts: boom"
    )


def test_rate_limit_honours_retry_after_then_succeeds(
    seeded: Seeded, proxy: ScriptedProxy, make_client: Factory
) -> None:
    script = f"e429-1-1-{uuid.uuid4().hex[:8]}"  # one 429 with Retry-After: 1
    started = time.monotonic()
    result = make_client(max_retry_after=5.0).platforms_of_one(f"{proxy.host}/{script}/multi:v1")
    elapsed = time.monotonic() - started
    assert result.error is None, result.error
    assert result.platforms == BOTH
    assert 0.9 <= elapsed < 3.0
    assert proxy.state.hits[script] >= 2


def test_rate_limit_wait_is_capped(seeded: Seeded, proxy: ScriptedProxy, make_client: Factory) -> None:
    script = f"e429-1-3600-{uuid.uuid4().hex[:8]}"  # asks for an hour
    started = time.monotonic()
    result = make_client(max_retry_after=0.2).platforms_of_one(f"{proxy.host}/{script}/multi:v1")
    assert result.error is None, result.error
    assert time.monotonic() - started < 2.0


def test_rate_limit_exhausted_is_reported(proxy: ScriptedProxy, make_client: Factory) -> None:
    script = f"e429-99-0-{uuid.uuid4().hex[:8]}"
    result = make_client(attempts=2).platforms_of_one(f"{proxy.host}/{script}/multi:v1")
    assert result.error_kind is ErrorKind.RATE_LIMITED
    assert (
        result.error
        == f"rate limited by {proxy.host} (HTTP 429) reading manifest of {proxy.host}/{script}/multi:v1 after 2 attempts"
    )
    assert proxy.state.hits[script] == 2


# -------------------------------------------------------------------------------------------------- auth


def test_bearer_token_exchange_anonymous(
    seeded: Seeded, bearer_proxy: ScriptedProxy, make_client: Factory
) -> None:
    client = make_client()
    result = client.platforms_of_one(f"{bearer_proxy.host}/plain/multi:v1")
    assert result.error is None, result.error
    assert result.platforms == BOTH
    tokens = [t for t in bearer_proxy.state.token_requests if t["scope"] == "repository:plain/multi:pull"]
    assert tokens and tokens[0]["service"] == "armful-test" and tokens[0]["authorization"] == ""
    # The token is kept for the repository: a second read asks the token service no more.
    before = len(bearer_proxy.state.token_requests)
    assert client.platforms_of_one(f"{bearer_proxy.host}/plain/multi:v1").platforms == BOTH
    assert len(bearer_proxy.state.token_requests) == before


def test_bearer_token_request_carries_docker_config_credentials(
    seeded: Seeded, bearer_proxy: ScriptedProxy, make_client: Factory
) -> None:
    _write_docker_config({"auths": {f"http://{bearer_proxy.host}": {"auth": _b64(*TOKEN_USER)}}})
    result = make_client().platforms_of_one(f"{bearer_proxy.host}/private/multi:v1")
    assert result.error is None, result.error
    assert result.platforms == BOTH
    sent = [
        t["authorization"]
        for t in bearer_proxy.state.token_requests
        if t["scope"] == "repository:private/multi:pull"
    ]
    assert f"Basic {_b64(*TOKEN_USER)}" in sent


def test_bearer_private_without_credentials_is_a_clear_error(
    seeded: Seeded, bearer_proxy: ScriptedProxy, make_client: Factory
) -> None:
    result = make_client().platforms_of_one(f"{bearer_proxy.host}/private/single:v1")
    assert result.error_kind is ErrorKind.UNAUTHORIZED
    assert (result.error or "").startswith(
        f"token service http://{bearer_proxy.host}/token refused anonymous access"
    )


def test_unreachable_token_service_is_named(proxy: ScriptedProxy, make_client: Factory) -> None:
    result = make_client().platforms_of_one(f"{proxy.host}/deadrealm/multi:v1")
    assert result.error_kind is ErrorKind.UNREACHABLE
    assert result.error == (
        f"127.0.0.1:{proxy.dead_port} (used by registry {proxy.host}) unreachable: connection refused"
    )


def test_basic_auth_with_docker_config_auths(auth_registry: RegistryProcess, make_client: Factory) -> None:
    _write_docker_config({"auths": {auth_registry.host: {"auth": _b64(*AUTH_USER)}}})
    result = make_client().platforms_of_one(f"{auth_registry.host}/secret/app:v1")
    assert result.error is None, result.error
    assert result.platforms == ("linux/arm64",)


def test_basic_auth_without_credentials(auth_registry: RegistryProcess, make_client: Factory) -> None:
    result = make_client().platforms_of_one(f"{auth_registry.host}/secret/app:v1")
    assert result.error_kind is ErrorKind.UNAUTHORIZED
    assert (result.error or "").startswith(f"registry {auth_registry.host} requires credentials (Basic auth)")
    assert f"no credentials for {auth_registry.host}" in (result.error or "")


def test_basic_auth_with_wrong_password(auth_registry: RegistryProcess, make_client: Factory) -> None:
    _write_docker_config({"auths": {auth_registry.host: {"auth": _b64(AUTH_USER[0], "wrong")}}})
    result = make_client().platforms_of_one(f"{auth_registry.host}/secret/app:v1")
    assert result.error_kind is ErrorKind.UNAUTHORIZED
    assert f"refused manifest of {auth_registry.host}/secret/app:v1 with credentials from auths[" in (
        result.error or ""
    )


def _helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, found: bool) -> Path:
    """A ``docker-credential-armfultest`` on PATH that logs the server it was asked about."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "helper.log"
    user, secret = AUTH_USER
    answer = (
        f'printf \'{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}\' "$server"'
        if found
        else "echo 'credentials not found in native keychain'; exit 1"
    )
    write_executable(
        bin_dir / "docker-credential-armfultest",
        f'#!/bin/sh\n[ "$1" = get ] || exit 2\nserver=$(cat)\necho "$server" >> "{log}"\n{answer}\n',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return log


@pytest.mark.parametrize("key", ["credHelpers", "credsStore"])
def test_credential_helper(
    key: str,
    auth_registry: RegistryProcess,
    make_client: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = _helper(tmp_path, monkeypatch, found=True)
    config: dict[str, object] = (
        {"credHelpers": {auth_registry.host: "armfultest"}}
        if key == "credHelpers"
        else {"credsStore": "armfultest"}
    )
    _write_docker_config(config)
    results = make_client().platforms_of(
        [f"{auth_registry.host}/secret/app:v1", f"{auth_registry.host}/secret/app:v1"]
    )
    assert results[0].error is None, results[0].error
    assert results[0].platforms == ("linux/arm64",)
    # The server goes to the helper on stdin, and the helper runs once per registry, not per image.
    assert log.read_text().splitlines() == [auth_registry.host]


def test_credential_helper_that_finds_nothing(
    auth_registry: RegistryProcess, make_client: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _helper(tmp_path, monkeypatch, found=False)
    _write_docker_config({"credHelpers": {auth_registry.host: "armfultest"}})
    result = make_client().platforms_of_one(f"{auth_registry.host}/secret/app:v1")
    assert result.error_kind is ErrorKind.UNAUTHORIZED
    assert "docker-credential-armfultest found nothing" in (result.error or "")
    assert "credentials not found in native keychain" in (result.error or "")


# ------------------------------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("registry", "insecure", "url"),
    [
        ("127.0.0.1:5000", (), "http://127.0.0.1:5000"),
        ("127.1.2.3:5000", (), "http://127.1.2.3:5000"),
        ("localhost:5000", (), "http://localhost:5000"),
        ("localhost", (), "http://localhost"),
        ("[::1]:5000", (), "http://[::1]:5000"),
        ("registry.localhost:5000", (), "https://registry.localhost:5000"),
        ("registry.localhost:5000", ("registry.localhost",), "http://registry.localhost:5000"),
        ("registry-1.docker.io", (), "https://registry-1.docker.io"),
        ("10.0.0.5:5000", (), "https://10.0.0.5:5000"),
        ("myreg.internal:5000", ("myreg.internal:5000",), "http://myreg.internal:5000"),
        ("myreg.internal:5000", ("myreg.internal",), "http://myreg.internal:5000"),
        ("myreg.internal:5000", ("other:5000",), "https://myreg.internal:5000"),
    ],
)
def test_scheme_choice(registry: str, insecure: tuple[str, ...], url: str) -> None:
    assert base_url_for(registry, insecure) == url


def test_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9:80") and is_loopback("[::1]:5000")
    assert is_loopback("localhost") and is_loopback("LOCALHOST:5000") and is_loopback("::1")
    assert not is_loopback("128.0.0.1") and not is_loopback("example.com:5000")
    # Names other than ``localhost`` itself go through the resolver, which may answer anything.
    for name in ("registry.localhost:5000", "a.b.localhost", "localhost.example.com", "localhost.", "[::2]"):
        assert not is_loopback(name), name


def test_parse_www_authenticate() -> None:
    challenge = parse_www_authenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull,push"'
    )
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/nginx:pull,push",
    }
    basic = parse_www_authenticate('Basic realm="registry"')
    assert basic is not None and basic.scheme == "basic"


def test_result_invariants() -> None:
    with pytest.raises(ValueError, match="no platforms"):
        ImagePlatforms(image="x", digest=None, platforms=("linux/arm64",), error="boom")
    result = ImagePlatforms(
        image="x", digest="sha256:1", platforms=("linux/arm64/v8", "linux/amd64", "linux/arm64"), error=None
    )
    assert result.platforms == BOTH
    assert result.to_json() == {"image": "x", "digest": "sha256:1", "platforms": list(BOTH), "error": None}
    failed = ImagePlatforms(image="y", digest=None, platforms=(), error="boom")
    assert failed.has_arch(Arch.ARM64) is None
    assert failed.to_json() == {"image": "y", "digest": None, "platforms": [], "error": "boom"}


def test_an_unexpected_exception_stays_with_its_image(make_client: Factory) -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v2/bug/"):
            raise ValueError("a bug")
        return httpx.Response(
            404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
        )

    client = make_client(transport=httpx.MockTransport(transport))
    bug, fine = client.platforms_of(["127.0.0.1:9/bug:v1", "127.0.0.1:9/ok:v1"])
    assert bug.error_kind is ErrorKind.INTERNAL and "ValueError: a bug" in (bug.error or "")
    assert fine.error == "manifest unknown: tag v1 not found in 127.0.0.1:9/ok"
    with pytest.raises(TypeError):
        client.platforms_of("127.0.0.1:9/ok:v1")
