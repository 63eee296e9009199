"""Fixtures for the image-platform tests: real ``docker-registry`` processes on 127.0.0.1 (one open,
one behind htpasswd Basic auth), the images pushed into them, and the fault servers.

The registries are session-scoped: starting one takes a fraction of a second, but pushing the same
fixtures for every test would dominate the run.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from armful.images.credentials import DockerCredentials
from armful.images.image_manifests import MAX_CHILD_READS
from armful.images.registry import RegistryClient

from .images_testkit import (
    AUTH_USER,
    HOSTILE_ENTRIES,
    INSTALL_HINT,
    OCI_MANIFEST,
    Certificate,
    FaultServer,
    NameProxy,
    Pusher,
    RegistryProcess,
    ScriptedProxy,
    Seeded,
    StallServer,
    entry,
    find_registry_binary,
    make_certificate,
)

# Names that are not loopback, reached through NameProxy; the certificate is valid for these.
TLS_NAMES = ["registry.test", "auth.test", "mirror.test"]


class _Closable(Protocol):
    def close(self) -> None: ...


Closable = TypeVar("Closable", bound=_Closable)

_REGISTRY_FIXTURES = frozenset(
    {"registry", "seeded", "hostile", "auth_registry", "proxy", "bearer_proxy", "redirector"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that need the docker-registry binary, so ``-m "not registry"`` can leave them out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents and _REGISTRY_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.registry)


@pytest.fixture(autouse=True)
def _isolated_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's Docker credentials, or their cache or its key, during tests."""
    docker = tmp_path / "docker-config"
    docker.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def registry_binary() -> str:
    binary = find_registry_binary()
    if binary is None:
        pytest.skip(f"docker-registry binary not found: {INSTALL_HINT}")
    return binary


@pytest.fixture(scope="session")
def registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    process = RegistryProcess(binary=registry_binary, workdir=tmp_path_factory.mktemp("registry"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def seeded(registry: RegistryProcess) -> Seeded:
    push = Pusher(registry.url)
    try:
        amd64, amd64_size = push.image("multi", "amd64")
        arm64, arm64_size = push.image("multi", "arm64", variant="v8")
        multi, multi_size = push.index(
            "multi",
            "v1",
            [entry(amd64, amd64_size, "amd64"), entry(arm64, arm64_size, "arm64", variant="v8")],
        )

        docker_entries = [
            entry(*push.image("dockerlist", "amd64", docker=True), "amd64", docker=True),
            entry(
                *push.image("dockerlist", "arm", variant="v7", docker=True), "arm", variant="v7", docker=True
            ),
            entry(
                *push.image("dockerlist", "arm64", variant="v8", docker=True),
                "arm64",
                variant="v8",
                docker=True,
            ),
        ]
        push.index("dockerlist", "v1", docker_entries, docker=True)

        push.image("single", "arm64", docker=True, tag="v1")
        push.image("single", "amd64", tag="oci")

        # BuildKit's layout: an attestation per image, platform unknown/unknown plus the annotation.
        attested = []
        for arch in ("amd64", "arm64"):
            digest, size = push.image("attested", arch)
            attested.append(entry(digest, size, arch))
            att_digest, att_size = push.attestation("attested", digest)
            attested.append(
                entry(
                    att_digest,
                    att_size,
                    "unknown",
                    os_name="unknown",
                    annotations={
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": digest,
                    },
                )
            )
        push.index("attested", "v1", attested)

        # The annotation alone marks an attestation, whatever platform the entry claims.
        digest, size = push.image("annotated", "amd64")
        att_digest, att_size = push.attestation("annotated", digest)
        push.index(
            "annotated",
            "v1",
            [
                entry(digest, size, "amd64"),
                entry(
                    att_digest,
                    att_size,
                    "arm64",
                    annotations={"vnd.docker.reference.type": "attestation-manifest"},
                ),
            ],
        )

        digest, size = push.image("onlyattest", "amd64")
        att_digest, att_size = push.attestation("onlyattest", digest)
        push.index("onlyattest", "v1", [entry(att_digest, att_size, "unknown", os_name="unknown")])

        # distribution checks children exist when an index is pushed, so delete one afterwards.
        present, present_size = push.image("brokenindex", "amd64")
        gone, gone_size = push.image("brokenindex", "arm64")
        push.index(
            "brokenindex", "v1", [entry(present, present_size, "amd64"), entry(gone, gone_size, "arm64")]
        )
        push.delete_manifest("brokenindex", gone)

        # An index of indexes whose entry carries no platform: the child index must be read.
        push.index(
            "multi",
            "nested",
            [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": multi, "size": multi_size}],
        )
    finally:
        push.close()
    return Seeded(
        host=registry.host, multi_digest=multi, amd64_digest=amd64, arm64_digest=arm64, missing_child=gone
    )


def _bare(digest: str, size: int) -> dict[str, Any]:
    """An index entry without a platform: the child must be read to learn it."""
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": size}


def _cycle(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entries[n % len(entries)] for n in range(HOSTILE_ENTRIES)]


@pytest.fixture(scope="session")
def hostile(registry: RegistryProcess) -> str:
    """Indexes of ``HOSTILE_ENTRIES`` entries in repository ``hostile`` (all children real: distribution
    checks them on push); returns the registry host. One more distinct child than an image may read.

    - ``dupes``: no platforms, two children (amd64, arm64) listed over and over, and artifacts
    - ``wide``: no platforms, ``MAX_CHILD_READS + 1`` distinct children
    - ``labels``: as many made-up platforms as distinct children
    - ``amd64``: every entry says linux/amd64, over all the distinct children
    - ``bound``: exactly ``MAX_CHILD_READS`` distinct children, no platforms
    """
    push = Pusher(registry.url)
    try:
        amd64 = [_bare(*child) for child in push.variants("hostile", "amd64", MAX_CHILD_READS + 1)]
        arm64 = [_bare(*child) for child in push.variants("hostile", "arm64", 1)]
        signature = {**amd64[1], "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json"}
        sbom = {**amd64[2], "mediaType": "application/vnd.example.sbom.v1+json"}
        push.index("hostile", "dupes", _cycle([amd64[0], arm64[0], signature, sbom]))
        push.index("hostile", "wide", _cycle(amd64))
        labels = [entry(e["digest"], e["size"], f"fake{n % len(amd64)}") for n, e in enumerate(_cycle(amd64))]
        push.index("hostile", "labels", labels)
        push.index("hostile", "amd64", [entry(e["digest"], e["size"], "amd64") for e in _cycle(amd64)])
        push.index("hostile", "bound", amd64[:MAX_CHILD_READS])
    finally:
        push.close()
    return registry.host


@pytest.fixture(scope="session")
def htpasswd_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bcrypt htpasswd (the only hash distribution accepts) from apache2-utils' ``htpasswd -Bbn``."""
    tool = shutil.which("htpasswd")
    if tool is None:
        pytest.skip("htpasswd not found: apt-get install apache2-utils")
    line = subprocess.run(
        [tool, "-Bbn", *AUTH_USER], check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    path = tmp_path_factory.mktemp("htpasswd") / "htpasswd"
    path.write_text(line + "\n")
    return path


@pytest.fixture(scope="session")
def auth_registry(
    registry_binary: str, htpasswd_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryProcess]:
    process = RegistryProcess(
        binary=registry_binary, workdir=tmp_path_factory.mktemp("auth-registry"), htpasswd=htpasswd_file
    )
    process.start()
    push = Pusher(process.url, auth=AUTH_USER)
    try:
        push.image("secret/app", "arm64", tag="v1")
    finally:
        push.close()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def proxy(seeded: Seeded, registry: RegistryProcess) -> Iterator[ScriptedProxy]:
    server = ScriptedProxy(registry.url)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def bearer_proxy(seeded: Seeded, registry: RegistryProcess) -> Iterator[ScriptedProxy]:
    server = ScriptedProxy(registry.url, bearer=True)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redirector(bearer_proxy: ScriptedProxy) -> Iterator[ScriptedProxy]:
    """Redirects ``/v2/redirect/...`` to the Bearer-protected proxy, as registry.k8s.io redirects to
    Artifact Registry, which then asks for a token."""
    server = ScriptedProxy(f"http://{bearer_proxy.host}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def stall() -> Iterator[StallServer]:
    server = StallServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., RegistryClient]]:
    """Clients with short timeouts and near-zero backoff so fault tests stay fast."""
    clients: list[RegistryClient] = []

    def factory(**overrides: Any) -> RegistryClient:
        options: dict[str, Any] = {
            "connect_timeout": 2.0,
            "read_timeout": 3.0,
            "backoff": 0.01,
            "max_retry_after": 2.0,
            "credentials": DockerCredentials(),
        }
        options.update(overrides)
        client = RegistryClient(**options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    made = make_certificate(tmp_path_factory.mktemp("tls"), TLS_NAMES)
    if made is None:
        pytest.skip("openssl not found: apt-get install openssl")
    return made


def _closed_after_test(make: Callable[..., Closable]) -> Iterator[Callable[..., Closable]]:
    """A factory fixture's body: everything the test makes with ``make`` is closed after it."""
    made: list[Closable] = []

    def factory(*args: Any, **kwargs: Any) -> Closable:
        made.append(make(*args, **kwargs))
        return made[-1]

    yield factory
    for thing in made:
        thing.close()


@pytest.fixture
def fault_server() -> Iterator[Callable[..., FaultServer]]:
    """``fault_server(respond, tls=None)``: programmable servers, closed after the test."""
    yield from _closed_after_test(FaultServer)


@pytest.fixture
def name_proxy() -> Iterator[Callable[..., NameProxy]]:
    """``name_proxy({"registry.test:443": port, ...})``: a proxy giving local servers those names."""
    yield from _closed_after_test(NameProxy)


@pytest.fixture
def scripted_proxy() -> Iterator[Callable[..., ScriptedProxy]]:
    """``scripted_proxy(upstream, bearer=False)``: a ScriptedProxy of the test's own, closed after it."""
    yield from _closed_after_test(ScriptedProxy)
