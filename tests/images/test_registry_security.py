"""What the registry client sends where: credentials, tokens and plain HTTP across redirects, and the
integrity of everything fetched by digest. Real registry and local fault servers, all on 127.0.0.1;
hosts that must not look like loopback get made-up names through a local proxy (``NameProxy``)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from armful.images.cache import ImageCache
from armful.images.image_manifests import MANIFEST_ACCEPT
from armful.images.readiness import check_images
from armful.images.registry import ErrorKind, RegistryClient

from .images_testkit import (
    AUTH_USER,
    Certificate,
    FaultServer,
    NameProxy,
    RegistryProcess,
    Reply,
    ScriptedProxy,
    Seeded,
    Seen,
    forward,
    sha256,
    unauthorized,
)

Factory = Callable[..., RegistryClient]
Servers = Callable[..., FaultServer]
Proxies = Callable[[dict[str, int]], NameProxy]
Scripted = Callable[..., ScriptedProxy]
BOTH = ("linux/amd64", "linux/arm64")
BASIC = "Basic " + base64.b64encode(f"{AUTH_USER[0]}:{AUTH_USER[1]}".encode()).decode()
PLAIN_ONLY = "(only loopback hosts and those listed in insecure_registries are spoken to without TLS)"


def _credentials_for(host: str) -> None:
    """Docker config credentials for ``host``, in the per-test DOCKER_CONFIG set by conftest."""
    config = {"auths": {host: {"auth": base64.b64encode(":".join(AUTH_USER).encode()).decode()}}}
    (Path(os.environ["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(config))


def _token(value: str) -> Reply:
    return 200, {"Content-Type": "application/json"}, json.dumps({"token": value}).encode()


def _not_found() -> Reply:
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
    return 404, {"Content-Type": "application/json"}, body


def _through(proxy: NameProxy, certificate: Certificate | None = None) -> dict[str, Any]:
    """Client options sending every request through ``proxy`` (and trusting the test certificate)."""
    verify: Any = certificate.client if certificate is not None else True
    return {"transport": httpx.HTTPTransport(proxy=proxy.url, verify=verify)}


# ---------------------------------------------------------------------------- credentials and redirects


def test_basic_credentials_never_follow_a_redirect_to_another_origin(
    fault_server: Servers, scripted_proxy: Scripted, make_client: Factory
) -> None:
    # The registry redirects to another host, which asks for Basic auth: it must not get the
    # registry's credentials (Docker, too, answers a challenge only for the host that sent it).
    other = fault_server(lambda seen: unauthorized('Basic realm="other"'))
    registry = scripted_proxy(other.url)
    _credentials_for(registry.host)
    result = make_client().platforms_of_one(f"{registry.host}/redirect/app:v1")
    assert other.seen, "the redirect was followed"
    assert [seen.authorization for seen in other.seen] == [""] * len(other.seen)
    assert result.error_kind is ErrorKind.UNAUTHORIZED
    assert result.error == (
        f"{other.host} (redirected to by registry {registry.host}) asks for Basic credentials for "
        f"manifest of {registry.host}/redirect/app:v1: refused, credentials for {registry.host} are sent "
        f"only to {registry.host} itself"
    )


def test_a_redirect_target_gets_no_credentials_for_its_token_service(
    fault_server: Servers, scripted_proxy: Scripted, make_client: Factory
) -> None:
    def respond(seen: Seen) -> Reply:
        if seen.path.startswith("/token"):
            return _token("other-token")
        if seen.authorization == "Bearer other-token":
            return _not_found()
        return unauthorized(f'Bearer realm="{other.url}/token",service="other"')

    other = fault_server(respond)
    registry = scripted_proxy(other.url)
    _credentials_for(registry.host)
    result = make_client().platforms_of_one(f"{registry.host}/redirect/app:v1")
    # The anonymous token exchange still works there (registry.k8s.io -> Artifact Registry)...
    assert result.error_kind is ErrorKind.NOT_FOUND, result.error
    assert any(seen.path.startswith("/token") for seen in other.seen)
    # ...but the registry's credentials never reach the other host's token service.
    assert all(seen.authorization in ("", "Bearer other-token") for seen in other.seen)

    # A target that wants more than an anonymous token is told no more than that.
    other.respond = lambda seen: (
        _token("other-token")
        if seen.path.startswith("/token")
        else unauthorized(f'Bearer realm="{other.url}/token",service="other"')
    )
    refused = make_client().platforms_of_one(f"{registry.host}/redirect/app:v1")
    assert refused.error == (
        f"{other.host} (redirected to by registry {registry.host}) refused manifest of "
        f"{registry.host}/redirect/app:v1 with an anonymous token: credentials for {registry.host} are "
        "not sent to another host"
    )
    assert all(seen.authorization in ("", "Bearer other-token") for seen in other.seen)


def test_a_redirect_target_refusing_anonymous_access_says_why_no_credentials_were_sent(
    fault_server: Servers, scripted_proxy: Scripted, make_client: Factory
) -> None:
    def respond(seen: Seen) -> Reply:
        if seen.path.startswith("/token"):
            return 401, {}, b""
        return unauthorized(f'Bearer realm="{other.url}/token",service="other"')

    other = fault_server(respond)
    registry = scripted_proxy(other.url)
    _credentials_for(registry.host)
    result = make_client().platforms_of_one(f"{registry.host}/redirect/app:v1")
    assert result.error_kind is ErrorKind.UNAUTHORIZED
    assert result.error == (
        f"token service {other.url}/token refused anonymous access for {registry.host}/redirect/app:v1 "
        f"(HTTP 401): {other.host} named it after registry {registry.host} redirected there, and "
        f"credentials for {registry.host} go only to token services {registry.host} names itself"
    )
    assert all(seen.authorization == "" for seen in other.seen)


def test_credentials_go_to_an_https_token_service_on_another_host(
    seeded: Seeded,
    registry: RegistryProcess,
    certificate: Certificate,
    fault_server: Servers,
    name_proxy: Proxies,
    make_client: Factory,
) -> None:
    # Docker Hub (auth.docker.io) and ECR name a token service on another host: credentials go there
    # over HTTPS, as Docker sends them.
    upstream = httpx.Client(base_url=registry.url, timeout=10.0)

    def respond(seen: Seen) -> Reply:
        if seen.host.startswith("auth.test"):
            return _token("granted") if seen.authorization == BASIC else (401, {}, b"")
        if seen.authorization != "Bearer granted":
            return unauthorized('Bearer realm="https://auth.test/token",service="registry.test"')
        return forward(upstream, seen, seen.path.replace("/v2/app/", "/v2/multi/", 1))

    try:
        tls = fault_server(respond, tls=certificate.server)
        proxy = name_proxy({"registry.test:443": tls.port, "auth.test:443": tls.port})
        _credentials_for("registry.test")
        result = make_client(**_through(proxy, certificate)).platforms_of_one("registry.test/app:v1")
    finally:
        upstream.close()
    assert result.error is None, result.error
    assert result.platforms == BOTH
    assert [seen.authorization for seen in tls.seen if seen.host.startswith("auth.test")] == [BASIC]
    # The registry itself only ever sees the token.
    assert {seen.authorization for seen in tls.seen if seen.host.startswith("registry.test")} <= {
        "",
        "Bearer granted",
    }


def test_no_token_service_is_asked_over_plain_http_unless_trusted(
    fault_server: Servers, name_proxy: Proxies, make_client: Factory
) -> None:
    tokens = fault_server(lambda seen: _token("granted"))

    def respond(seen: Seen) -> Reply:
        if seen.authorization == "Bearer granted":
            return _not_found()
        return unauthorized('Bearer realm="http://tokens.test/token",service="registry"')

    registry = fault_server(respond)
    proxy = name_proxy({registry.host: registry.port, "tokens.test:80": tokens.port})
    _credentials_for(registry.host)
    image = f"{registry.host}/app:v1"
    result = make_client(**_through(proxy)).platforms_of_one(image)
    assert result.error_kind is ErrorKind.INSECURE
    assert result.error == (
        f"registry {registry.host} names a token service on plain HTTP (http://tokens.test/token) for "
        f"manifest of {image}: refused {PLAIN_ONLY}"
    )
    assert "tokens.test:80" not in proxy.asked and tokens.seen == []

    # Named with --insecure-registry, the host is trusted with plain HTTP, credentials included.
    trusted = make_client(insecure_registries=["tokens.test"], **_through(proxy))
    assert trusted.platforms_of_one(image).error_kind is ErrorKind.NOT_FOUND
    assert [seen.authorization for seen in tokens.seen] == [BASIC]


def test_credentials_for_a_token_service_survive_a_retry(fault_server: Servers, make_client: Factory) -> None:
    answers = iter([(503, {}, b""), _token("granted")])
    tokens = fault_server(lambda seen: next(answers))

    def respond(seen: Seen) -> Reply:
        if seen.authorization == "Bearer granted":
            return _not_found()
        return unauthorized(f'Bearer realm="{tokens.url}/token",service="registry"')

    registry = fault_server(respond)
    _credentials_for(registry.host)
    result = make_client().platforms_of_one(f"{registry.host}/app:v1")
    assert result.error_kind is ErrorKind.NOT_FOUND, result.error
    assert [seen.authorization for seen in tokens.seen] == [BASIC, BASIC]


# ------------------------------------------------------------------------------------ plain-HTTP redirects


def test_https_registry_redirecting_to_plain_http_is_refused(
    seeded: Seeded,
    registry: RegistryProcess,
    certificate: Certificate,
    fault_server: Servers,
    scripted_proxy: Scripted,
    name_proxy: Proxies,
    make_client: Factory,
) -> None:
    mirror = scripted_proxy(registry.url)  # serves /v2/plain/<repo>/... from the real registry

    def respond(seen: Seen) -> Reply:
        rest = seen.path.removeprefix("/v2/app/")
        return 302, {"Location": f"http://mirror.test/v2/plain/multi/{rest}"}, b""

    tls = fault_server(respond, tls=certificate.server)
    proxy = name_proxy({"registry.test:443": tls.port, "mirror.test:80": mirror.port})
    refused = make_client(**_through(proxy, certificate)).platforms_of_one("registry.test/app:v1")
    assert refused.error_kind is ErrorKind.INSECURE
    assert refused.error == (
        "registry registry.test redirected manifest of registry.test/app:v1 to plain HTTP at "
        f"mirror.test: refused {PLAIN_ONLY}"
    )
    assert refused.platforms == ()
    assert "mirror.test:80" not in proxy.asked

    trusted = make_client(insecure_registries=["mirror.test"], **_through(proxy, certificate))
    result = trusted.platforms_of_one("registry.test/app:v1")
    assert result.error is None, result.error
    assert result.platforms == BOTH


def test_a_localhost_subdomain_is_not_loopback(scripted_proxy: Scripted, make_client: Factory) -> None:
    # *.localhost names go through the resolver like any other: a redirect to one over plain HTTP is
    # refused before any connection is tried.
    registry = scripted_proxy("http://registry.localhost:9")
    result = make_client().platforms_of_one(f"{registry.host}/redirect/app:v1")
    assert result.error_kind is ErrorKind.INSECURE
    assert result.error == (
        f"registry {registry.host} redirected manifest of {registry.host}/redirect/app:v1 to plain HTTP "
        f"at registry.localhost:9: refused {PLAIN_ONLY}"
    )


# ----------------------------------------------------------------------------------------- token scoping


def test_a_token_from_a_redirect_target_is_never_sent_to_the_registry(
    seeded: Seeded, bearer_proxy: ScriptedProxy, redirector: ScriptedProxy, make_client: Factory
) -> None:
    client = make_client()
    image = f"{redirector.host}/redirect/plain/multi:v1"
    seen_before = len(redirector.state.authorizations)
    tokens_before = len(bearer_proxy.state.token_requests)
    for _ in range(2):  # the second read starts with what the first one cached
        result = client.platforms_of_one(image)
        assert result.error is None, result.error
        assert result.platforms == BOTH
    sent = redirector.state.authorizations[seen_before:]
    assert sent and all(authorization == "" for _, authorization in sent)
    # The token still serves the host that issued it: for the children and for the second read.
    assert len(bearer_proxy.state.token_requests) == tokens_before + 1


# ------------------------------------------------------------------------------------------------ digests


def test_everything_fetched_by_digest_is_verified(
    seeded: Seeded, registry: RegistryProcess, proxy: ScriptedProxy, make_client: Factory, tmp_path: Path
) -> None:
    # The tamper script alters what is fetched by digest (a config blob claiming amd64 instead of
    # arm64, an index whose arm64 entry became amd64) and makes HEAD fail so children are fetched.
    single = httpx.get(
        f"{registry.url}/v2/single/manifests/v1", headers={"Accept": MANIFEST_ACCEPT}, timeout=10.0
    )
    config = single.json()["config"]["digest"]
    h = proxy.host
    cases = {
        f"{h}/tamper/single:v1": ("config blob {digest} of {image}", config),
        f"{h}/tamper/multi:nested": ("index child {digest} of {image}", seeded.multi_digest),
        f"{h}/tamper/multi:v1": ("index child {digest} (linux/amd64) of {image}", seeded.amd64_digest),
        f"{h}/tamper/multi@{seeded.multi_digest}": ("manifest of {image}", seeded.multi_digest),
    }
    cache = ImageCache(tmp_path / "cache")
    results = check_images(list(cases), cache=cache, client=make_client())
    for (image, (what, digest)), result in zip(cases.items(), results, strict=True):
        assert result.error_kind is ErrorKind.DIGEST_MISMATCH, (image, result.error)
        head = f"digest mismatch: {what.format(digest=digest, image=image)} served by registry {h} hashes to "
        message = result.error or ""
        assert message.startswith(head + "sha256:") and message.endswith(f", not {digest}"), message
        assert result.platforms == () and result.digest is None
        assert cache.entry(image) is None, f"{image} was cached"
    # The same images untampered are read and cached.
    fine = [image.replace("/tamper/", "/plain/") for image in cases]
    assert all(r.error is None for r in check_images(fine, cache=cache, client=make_client()))
    assert all(cache.entry(image) is not None for image in fine)


STATED = " (its Docker-Content-Digest header)"


def test_a_body_that_is_not_what_the_registry_says_it_is_fails(
    seeded: Seeded, registry: RegistryProcess, fault_server: Servers, make_client: Factory, tmp_path: Path
) -> None:
    # A mirror hands out the real Docker-Content-Digest of multi:v1 with an index whose arm64 entry now
    # says amd64: the tag was not asked for by digest, so only the header can catch it.
    upstream = httpx.Client(base_url=registry.url, timeout=10.0)
    altered: list[bytes] = []

    def respond(seen: Seen) -> Reply:
        status, headers, body = forward(upstream, seen, seen.path)
        if seen.path == "/v2/multi/manifests/v1":
            body = body.replace(b'"arm64"', b'"amd64"')
            altered.append(body)
        return status, headers, body

    try:
        mirror = fault_server(respond)
        image = f"{mirror.host}/multi:v1"
        cache = ImageCache(tmp_path / "cache")
        [result] = check_images([image], cache=cache, client=make_client())
    finally:
        upstream.close()
    assert result.error_kind is ErrorKind.DIGEST_MISMATCH and result.platforms == ()
    assert result.error == (
        f"digest mismatch: manifest of {image} served by registry {mirror.host} hashes to "
        f"{sha256(altered[0])}, not {seeded.multi_digest}{STATED}"
    )
    assert cache.entry(image) is None


def test_a_child_the_registry_names_otherwise_fails(
    seeded: Seeded, registry: RegistryProcess, fault_server: Servers, make_client: Factory
) -> None:
    # The HEAD that checks an index child exists carries no body, but its header must not name another.
    upstream = httpx.Client(base_url=registry.url, timeout=10.0)

    def respond(seen: Seen) -> Reply:
        status, headers, body = forward(upstream, seen, seen.path)
        if seen.method == "HEAD":
            headers = {**headers, "docker-content-digest": seeded.missing_child}
        return status, headers, body

    try:
        mirror = fault_server(respond)
        image = f"{mirror.host}/multi:v1"
        result = make_client().platforms_of_one(image)
    finally:
        upstream.close()
    assert result.error_kind is ErrorKind.DIGEST_MISMATCH and result.platforms == ()
    assert result.error == (
        f"digest mismatch: index child {seeded.amd64_digest} (linux/amd64) of {image} served by registry "
        f"{mirror.host} is {seeded.missing_child}{STATED}, not {seeded.amd64_digest}"
    )


def _signed_schema1(architecture: str) -> tuple[bytes, bytes]:
    """A schema-1 manifest in libtrust's pretty-JWS layout: (payload, served body). The signature
    itself is not checked by anyone reading platforms; the layout decides what the digest covers."""
    payload = json.dumps(
        {"schemaVersion": 1, "name": "legacy", "tag": "v1", "architecture": architecture, "fsLayers": []},
        indent=3,
    ).encode()
    length = len(payload) - 2  # the payload's closing "\n}" is the format tail
    tail = base64.urlsafe_b64encode(payload[length:]).decode().rstrip("=")
    protected = base64.urlsafe_b64encode(
        json.dumps({"formatLength": length, "formatTail": tail, "time": "2016-01-01T00:00:00Z"}).encode()
    )
    signatures = [
        {"header": {"alg": "ES256"}, "signature": "c2ln", "protected": protected.decode().rstrip("=")}
    ]
    body = payload[:length] + b',\n   "signatures": ' + json.dumps(signatures).encode() + payload[length:]
    return payload, body


def test_a_signed_schema1_manifest_is_checked_against_its_payload(
    fault_server: Servers, make_client: Factory
) -> None:
    payload, body = _signed_schema1("amd64")
    stated = {"value": sha256(payload)}

    def respond(seen: Seen) -> Reply:
        headers = {
            "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "Docker-Content-Digest": stated["value"],
        }
        return 200, headers, body

    registry = fault_server(respond)
    image = f"{registry.host}/legacy:v1"
    result = make_client().platforms_of_one(image)
    assert result.error is None, result.error
    assert result.platforms == ("linux/amd64",) and result.digest == sha256(payload)

    stated["value"] = sha256(body)  # the digest of the bytes on the wire is not the manifest's
    refused = make_client().platforms_of_one(image)
    assert refused.error == (
        f"digest mismatch: manifest of {image} served by registry {registry.host} hashes to "
        f"{sha256(payload)}, not {sha256(body)}{STATED}"
    )
