"""Helpers for the image-platform tests: a real ``docker-registry`` process, pushing images to it over
the distribution API, and small misbehaving HTTP servers for the fault cases.

Everything binds 127.0.0.1 only. Images are built from scratch (tiny config and layer blobs), so no
network and no Docker daemon are needed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ALL_MANIFESTS = f"{OCI_INDEX}, {DOCKER_LIST}, {OCI_MANIFEST}, {DOCKER_MANIFEST}"

AUTH_USER = ("armful", "pull-secret")  # the htpasswd registry's user
REGISTRY_BINARY = "docker-registry"
INSTALL_HINT = "apt-get install docker-registry (Debian's distribution 2.8)"
# Entries in each hostile index: the size of the index that once cost 273 s and 6,001 requests.
HOSTILE_ENTRIES = 2000


def find_registry_binary() -> str | None:
    return shutil.which(REGISTRY_BINARY) or (
        "/usr/bin/docker-registry" if Path("/usr/bin/docker-registry").exists() else None
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Seeded:
    """The open registry and what was pushed to it."""

    host: str
    multi_digest: str
    amd64_digest: str
    arm64_digest: str
    missing_child: str


@dataclass
class RegistryProcess:
    """A ``docker-registry serve`` child process with its own config and storage."""

    binary: str
    workdir: Path
    htpasswd: Path | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 10.0) -> None:
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        auth = ""
        if self.htpasswd is not None:
            auth = f"auth:\n  htpasswd:\n    realm: armful-test\n    path: {self.htpasswd}\n"
        # A port taken between free_port() and bind is retried rather than failing the session.
        for _ in range(3):
            self.port = free_port()
            config = self.workdir / "config.yml"
            config.write_text(
                "version: 0.1\n"
                "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
                f"http:\n  addr: 127.0.0.1:{self.port}\n  secret: armful-test-secret\n" + auth
            )
            with (self.workdir / "registry.log").open("wb") as log:  # the child keeps its own descriptor
                self.process = subprocess.Popen(
                    [self.binary, "serve", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            if self._wait_ready(timeout):
                return
            self.stop()
        raise RuntimeError(
            f"docker-registry did not answer GET /v2/ on {self.host}: {(self.workdir / 'registry.log').read_text()}"
        )

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                response = httpx.get(f"{self.url}/v2/", timeout=0.5)
                if response.status_code in (200, 401):
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


class Pusher:
    """Pushes blobs and manifests over the distribution API, as ``docker push`` does."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None):
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        started = self.http.post(f"/v2/{repo}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = urllib.parse.urljoin(self.base_url + "/", started.headers["location"])
        separator = "&" if "?" in location else "?"
        done = self.http.put(
            f"{location}{separator}digest={urllib.parse.quote(digest)}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return digest

    def manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.http.put(
            f"/v2/{repo}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
        )
        assert response.status_code == 201, response.text
        return sha256(body)

    def delete_manifest(self, repo: str, digest: str) -> None:
        response = self.http.delete(f"/v2/{repo}/manifests/{digest}")
        assert response.status_code == 202, response.text

    def image(
        self,
        repo: str,
        arch: str,
        *,
        os_name: str = "linux",
        variant: str | None = None,
        docker: bool = False,
        tag: str | None = None,
    ) -> tuple[str, int]:
        """A one-layer image whose platform is only in its config blob; returns (digest, size)."""
        config: dict[str, Any] = {
            "architecture": arch,
            "os": os_name,
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {},
        }
        if variant:
            config["variant"] = variant
        layer = f"layer {repo} {os_name}/{arch}/{variant}".encode()
        layer_digest = self.blob(repo, layer)
        config_bytes = canonical(config)
        config_digest = self.blob(repo, config_bytes)
        media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": config_digest,
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        body = canonical(manifest)
        digest = self.manifest(repo, tag or sha256(body), body, media_type)
        return digest, len(body)

    def variants(self, repo: str, arch: str, count: int) -> list[tuple[str, int]]:
        """``count`` distinct manifests of one image (they differ by an annotation, and share their
        config and layer blobs, so pushing many is one PUT each); returns (digest, size) of each."""
        config_bytes = canonical({"architecture": arch, "os": "linux", "rootfs": {"type": "layers"}})
        layer = f"layer {repo} {arch} variants".encode()
        config = {"mediaType": OCI_CONFIG, "digest": self.blob(repo, config_bytes), "size": len(config_bytes)}
        layers = [{"mediaType": OCI_LAYER, "digest": self.blob(repo, layer), "size": len(layer)}]
        made = []
        for number in range(count):
            body = canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": config,
                    "layers": layers,
                    "annotations": {"armful.test/variant": str(number)},
                }
            )
            made.append((self.manifest(repo, sha256(body), body, OCI_MANIFEST), len(body)))
        return made

    def attestation(self, repo: str, subject: str) -> tuple[str, int]:
        """A BuildKit-style attestation manifest (in-toto layer, empty config)."""
        statement = canonical(
            {"_type": "https://in-toto.io/Statement/v0.1", "subject": [{"digest": subject}]}
        )
        layer_digest = self.blob(repo, statement)
        config_bytes = b"{}"
        config_digest = self.blob(repo, config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
            "layers": [
                {
                    "mediaType": "application/vnd.in-toto+json",
                    "digest": layer_digest,
                    "size": len(statement),
                    "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
                }
            ],
        }
        body = canonical(manifest)
        return self.manifest(repo, sha256(body), body, OCI_MANIFEST), len(body)

    def index(
        self, repo: str, tag: str, entries: list[dict[str, Any]], *, docker: bool = False
    ) -> tuple[str, int]:
        media_type = DOCKER_LIST if docker else OCI_INDEX
        body = canonical({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
        return self.manifest(repo, tag, body, media_type), len(body)


def entry(
    digest: str,
    size: int,
    arch: str,
    *,
    os_name: str = "linux",
    variant: str | None = None,
    docker: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    platform = {"architecture": arch, "os": os_name}
    if variant:
        platform["variant"] = variant
    item: dict[str, Any] = {
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "digest": digest,
        "size": size,
        "platform": platform,
    }
    if annotations:
        item["annotations"] = annotations
    return item


# --------------------------------------------------------------------------------------- fault servers


class StallServer:
    """Accepts TCP connections (the kernel completes the handshake) and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()


def closed_port() -> int:
    """A port nothing listens on: bound then released, so connecting is refused."""
    return free_port()


@dataclass
class ProxyState:
    """What the scripted proxy saw; tests assert on it (retries, token requests)."""

    hits: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Accept
    authorizations: list[tuple[str, str]] = field(default_factory=list)  # path, Authorization ('' if none)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str) -> int:
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1
            return self.hits[key]


TOKEN_USER = ("robot", "s3cret")


class ScriptedProxy:
    """An HTTP server in front of the real registry whose first repository path component scripts
    a behaviour, so each test picks a fault by the image name it asks for:

    - ``/v2/plain/<repo>/...``         forwarded to ``/v2/<repo>/...``
    - ``/v2/e500-<id>/<repo>/...``     always HTTP 500
    - ``/v2/e429-<n>-<s>-<id>/<repo>/...`` HTTP 429 with ``Retry-After: <s>`` for the first n
                                       requests under that id, then forwarded
    - ``/v2/garbage/<repo>/...``       200 with an OCI index content type and a body that is not JSON
    - ``/v2/redirect/<repo>/...``      307 to the same request on the real registry (another origin)
    - ``/v2/deadrealm/<repo>/...``     401 whose Bearer realm is a port nothing listens on
    - ``/v2/private/<repo>/...``       with ``bearer``: the token must have been issued to ``robot``
    - ``/v2/tamper/<repo>/...``        forwarded, but what is fetched by digest comes back altered (an
                                       ``"arm64"`` becomes ``"amd64"``, a newline is appended) and a HEAD
                                       by digest answers 405, so a client must GET and can compare hashes

    With ``bearer=True`` every /v2/ request needs ``Authorization: Bearer <token for its scope>``;
    the token endpoint is ``/token`` on the same server.
    """

    def __init__(self, upstream: str, *, bearer: bool = False):
        self.upstream = upstream
        self.bearer = bearer
        self.state = ProxyState()
        self.dead_port = free_port()
        self.http = httpx.Client(base_url=upstream, timeout=10.0)
        handler = self._handler_class()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-proxy",
            daemon=True,
        )
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output clean

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_HEAD(self) -> None:
                proxy._handle(self)

        return Handler

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        with self.state.lock:
            self.state.requests.append((handler.command, parsed.path, handler.headers.get("Accept", "")))
            self.state.authorizations.append((parsed.path, handler.headers.get("Authorization", "")))
        if parsed.path == "/token":
            self._token(handler, urllib.parse.parse_qs(parsed.query))
            return
        if parsed.path in ("/v2", "/v2/"):
            self._send(handler, 200, b"{}", {"Content-Type": "application/json"})
            return
        parts = parsed.path.split("/")  # ['', 'v2', '<script>', ...repo..., 'manifests'|'blobs', ref]
        if len(parts) < 6 or parts[1] != "v2":
            self._send(handler, 404)
            return
        script = parts[2]
        repo_with_script = "/".join(parts[2:-2])
        upstream_path = "/v2/" + "/".join(parts[3:])
        if self.bearer and not self._authorized(handler, repo_with_script):
            return
        if script.startswith("e500-"):
            self.state.hit(script)
            self._send(handler, 500, b'{"errors":[{"code":"UNKNOWN","message":"boom"}]}')
            return
        if script.startswith("e429-"):
            _, limit, retry_after, _ = script.split("-", 3)
            if self.state.hit(script) <= int(limit):
                self._send(handler, 429, b"", {"Retry-After": retry_after})
                return
        if script == "garbage" and "/manifests/" in parsed.path:
            self._send(handler, 200, b'{"schemaVersion": 2, "manifests": [', {"Content-Type": OCI_INDEX})
            return
        if script == "deadrealm":
            realm = f"http://127.0.0.1:{self.dead_port}/token"
            self._send(handler, 401, b"", {"WWW-Authenticate": f'Bearer realm="{realm}",service="x"'})
            return
        if script == "redirect":
            self._send(handler, 307, b"", {"Location": f"{self.upstream}{upstream_path}"})
            return
        by_digest = parts[-1].startswith("sha256:")
        if script == "tamper" and by_digest and handler.command == "HEAD":
            self._send(handler, 405)
            return
        forwarded = self.http.request(
            handler.command,
            upstream_path,
            headers={"Accept": handler.headers.get("Accept", "*/*")},
        )
        keep = ("content-type", "docker-content-digest", "docker-distribution-api-version")
        body = forwarded.content
        if script == "tamper" and by_digest and forwarded.status_code == 200:
            body = body.replace(b'"arm64"', b'"amd64"') + b"\n"
        self._send(
            handler,
            forwarded.status_code,
            body,
            {name: value for name, value in forwarded.headers.items() if name.lower() in keep},
        )

    def _authorized(self, handler: BaseHTTPRequestHandler, repo: str) -> bool:
        scope = f"repository:{repo}:pull"
        expected = f"Bearer {self._token_for(scope, private=repo.startswith('private/'))}"
        if handler.headers.get("Authorization") == expected:
            return True
        challenge = f'Bearer realm="http://{self.host}/token",service="armful-test",scope="{scope}"'
        self._send(
            handler,
            401,
            b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
            {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
        )
        return False

    @staticmethod
    def _token_for(scope: str, *, private: bool) -> str:
        who = TOKEN_USER[0] if private else "anonymous"
        return base64.urlsafe_b64encode(f"{who}|{scope}".encode()).decode().rstrip("=")

    def _token(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        scope = query.get("scope", [""])[0]
        service = query.get("service", [""])[0]
        authorization = handler.headers.get("Authorization", "")
        with self.state.lock:
            self.state.token_requests.append(
                {"scope": scope, "service": service, "authorization": authorization}
            )
        private = ":private/" in scope
        if private:
            user, secret = TOKEN_USER
            wanted = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
            if authorization != wanted:
                self._send(handler, 401, b'{"details":"incorrect username or password"}')
                return
        if service != "armful-test":
            self._send(handler, 400, b'{"details":"unknown service"}')
            return
        body = json.dumps({"token": self._token_for(scope, private=private), "expires_in": 300}).encode()
        self._send(handler, 200, body, {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Seen:
    """One request a :class:`FaultServer` received."""

    method: str
    host: str  # the Host header: which name the client thought it was talking to
    path: str  # with the query
    authorization: str  # '' when none was sent


Reply = tuple[int, dict[str, str], bytes]


class FaultServer:
    """A programmable HTTP server on 127.0.0.1, optionally behind TLS: ``respond(seen)`` answers each
    request, and every request is recorded in ``seen`` so a test can assert what reached it (and with
    which Authorization header). Assign ``respond`` to change the behaviour."""

    def __init__(self, respond: Callable[[Seen], Reply], *, tls: ssl.SSLContext | None = None):
        self.respond = respond
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

            def do_HEAD(self) -> None:
                server._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-server", daemon=True
        )
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if "://" in path:  # absolute form, as a client sends it through a plain-HTTP proxy
            split = urllib.parse.urlsplit(path)
            path = split.path + (f"?{split.query}" if split.query else "")
        seen = Seen(
            handler.command,
            handler.headers.get("Host", ""),
            path,
            handler.headers.get("Authorization", ""),
        )
        with self.lock:
            self.seen.append(seen)
        status, headers, body = self.respond(seen)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)


def unauthorized(challenge: str) -> Reply:
    return (
        401,
        {"WWW-Authenticate": challenge, "Content-Type": "application/json"},
        b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
    )


def forward(http: httpx.Client, seen: Seen, path: str) -> Reply:
    """``seen`` asked of the real registry at ``path``, answered with the headers a client reads."""
    answer = http.request(seen.method, path, headers={"Accept": ALL_MANIFESTS})
    keep = ("content-type", "docker-content-digest")
    return (
        answer.status_code,
        {name: value for name, value in answer.headers.items() if name.lower() in keep},
        answer.content,
    )


class NameProxy:
    """An HTTP proxy on 127.0.0.1 that gives local servers names that are not loopback.

    ``routes`` maps ``name:port`` to a local port: ``CONNECT registry.test:443`` (how a client reaches an
    HTTPS host through a proxy) and ``GET http://mirror.test/...`` (a plain-HTTP host) are both piped to
    that port. Every name asked for is recorded in ``asked``, routed or not, so a test can show that a
    client never even tried a host; an unrouted name is answered 502. Clients use it through
    ``httpx.HTTPTransport(proxy=proxy.url, verify=...)``.
    """

    def __init__(self, routes: dict[str, int]):
        self.routes = dict(routes)
        self.asked: list[str] = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.closed = False
        threading.Thread(target=self._accept, name="name-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method == "CONNECT":
                name = target
            else:
                split = urllib.parse.urlsplit(target)
                name = f"{split.hostname}:{split.port or 80}"
            with self.lock:
                self.asked.append(name)
            port = self.routes.get(name)
            if port is None:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            with socket.create_connection(("127.0.0.1", port), timeout=10) as upstream:
                if method == "CONNECT":
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    rest = head.split(b"\r\n\r\n", 1)[1]
                else:
                    rest = head
                if rest:
                    upstream.sendall(rest)
                back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                back.start()
                _pipe(client, upstream)
                back.join(timeout=10)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for some made-up names, and TLS contexts for each side."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def make_certificate(directory: Path, names: list[str]) -> Certificate | None:
    """With the ``openssl`` CLI (None without it): an EC key and a certificate valid for ``names``."""
    tool = shutil.which("openssl")
    if tool is None:
        return None
    key, cert = directory / "key.pem", directory / "cert.pem"
    subject_alt = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        [
            *(tool, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={names[0]}"),
            *("-addext", f"subjectAltName={subject_alt}"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return Certificate(server=server, client=client)


def write_executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


ProgressCall = Callable[[int, int], None]
