"""Read which platforms an image is published for, straight from its registry (OCI distribution API).

One ``GET /v2/<name>/manifests/<ref>`` answers most images: an index (OCI) or manifest list (Docker)
names a platform per entry. A single-platform manifest does not, so its config blob is read for
``os``/``architecture``. Every entry of an index that is counted is also checked to exist (a ``HEAD``,
free of Docker Hub's pull quota): a platform the registry cannot serve is not a platform a node can run.

Failures are per image. A readiness report over forty images must still show thirty-nine answers when
one registry is down, so nothing here raises for a single image: each problem becomes an error string
that names the image and what went wrong, and an image that was not read never claims a platform.

What is sent where (the rules ``docker pull`` follows, and a little stricter):

- Plain HTTP only to loopback (``localhost``, 127.0.0.0/8, ``::1``) and hosts listed in
  ``insecure_registries``; a redirect or token service elsewhere on ``http://`` is refused.
- The registry's credentials go to the registry's own origin (scheme, host, port) and to the token
  service that origin names in its Bearer challenge, which may be another host (auth.docker.io).
  A host the registry redirects to gets neither: its Basic challenge is refused and its token
  service is asked anonymously (registry.k8s.io redirects to Artifact Registry this way).
- A token is sent only to the origin whose challenge it answered.
- Everything fetched by digest (manifests, index children, config blobs) is hashed and compared
  with its digest; a mismatch fails the image, so nothing unverified is cached.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import errno
import hashlib
import ipaddress
import json
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

import httpx

from armful.core.arch import Arch
from armful.images.credentials import Credentials, DockerCredentials
from armful.images.reference import ImageReference, InvalidReferenceError, parse_reference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
# Registries negotiate on Accept: distribution answers 404 for an OCI index requested without the
# OCI type, and Docker Hub down-converts to one platform's manifest without the list types.
MANIFEST_ACCEPT = f"{OCI_INDEX}, {DOCKER_MANIFEST_LIST}, {OCI_MANIFEST}, {DOCKER_MANIFEST}"
_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
ATTESTATION_ANNOTATION = "vnd.docker.reference.type"
ATTESTATION_VALUE = "attestation-manifest"

DEFAULT_PARALLELISM = 8
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_RETRY_AFTER = 10.0
# A read timeout bounds each silence, not a whole response: this bounds a server that trickles bytes.
DEFAULT_BODY_DEADLINE = 60.0
# distribution refuses manifests over 4 MiB; anything bigger is not a manifest we should parse.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_TOKEN_BYTES = 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
# Nested indexes exist (an index of per-OS indexes) but deeper nesting is a loop or an attack.
MAX_INDEX_DEPTH = 3
# Redirects are followed by hand, each hop checked; httpx's own default limit.
MAX_REDIRECTS = 20
_DEFAULT_PORTS = {"http": 80, "https": 443}
# The OCI digest grammar: algorithm, a colon, encoded hash. A digest read from an index goes into a URL.
_DIGEST_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_VERIFIABLE = {"sha256": 64, "sha512": 128}
_PLAIN_HTTP_RULE = "(only loopback hosts and those listed in insecure_registries are spoken to without TLS)"
# Tokens without ``expires_in`` are valid for at least 60 s per the Docker token spec.
_DEFAULT_TOKEN_LIFETIME = 60.0
_USER_AGENT = "armful-images/1 (+python-httpx)"
# Unexpected exceptions become per-image errors; their tracebacks go here for whoever debugs them.
logger = logging.getLogger(__name__)


class ErrorKind(StrEnum):
    """Why an image could not be read; lets callers (the cache) tell an outage from a wrong tag."""

    INVALID_REFERENCE = "invalid-reference"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    NOT_FOUND = "not-found"
    MISSING_CHILD = "missing-child"
    UNAUTHORIZED = "unauthorized"
    DENIED = "denied"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    PROTOCOL = "protocol"
    MALFORMED = "malformed"
    UNSUPPORTED = "unsupported"
    NO_PLATFORMS = "no-platforms"
    DIGEST_MISMATCH = "digest-mismatch"
    INSECURE = "insecure"  # plain HTTP to a host not trusted with it (a redirect or a token service)
    INTERNAL = "internal"


# The registry could not be asked; a cached answer is better than none. A 404 or a bad manifest is
# an answer, and must not be papered over with an old one.
NETWORK_ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED, ErrorKind.SERVER_ERROR}
)


def _normalise_platforms(platforms: Iterable[str]) -> tuple[str, ...]:
    # A node's kubelet matches on os/arch; variants (arm64/v8) would only split equal entries apart.
    return tuple(sorted({"/".join(p.split("/")[:2]) for p in platforms if p}))


@dataclass(frozen=True)
class ImagePlatforms:
    """What one image reference is published for, or why that is unknown.

    Invariant: ``error`` set ⇒ ``platforms`` empty, so no code path can treat an unread image as ready.
    A result served from the cache has ``cached_at``; one used past its time limit because the registry
    could not be reached has ``stale`` and ``stale_reason`` (the network error).
    """

    image: str
    digest: str | None
    platforms: tuple[str, ...]
    error: str | None
    error_kind: ErrorKind | None = None
    cached_at: float | None = None
    stale: bool = False
    stale_reason: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None and self.platforms:
            raise ValueError(f"{self.image}: an image that could not be read has no platforms")
        object.__setattr__(self, "platforms", _normalise_platforms(self.platforms))

    @property
    def from_cache(self) -> bool:
        return self.cached_at is not None

    def has_arch(self, arch: Arch) -> bool | None:
        """True/False when the platforms were read; None when they are unknown (error)."""
        if self.error is not None:
            return None
        return arch.platform in self.platforms

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "platforms": list(self.platforms),
            "error": self.error,
        }


class _ImageError(Exception):
    """Internal: a failure for one image, carried up to the per-image boundary."""

    def __init__(self, kind: ErrorKind, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL  # after redirects
    sent_authorization: str | None = None  # on the final request: each hop carries its origin's own
    attempts: int = 1


@dataclass
class _CallState:
    """State shared by the images of one ``platforms_of`` call."""

    # Hosts that refused a connection or went silent: later requests fail fast instead of each
    # waiting out its own timeout against the same dead or stalled host.
    dead_hosts: dict[str, tuple[ErrorKind, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Image:
    """One image being read: what to call it in messages and, per origin, the auth header to send there.

    ``authorizations`` maps an origin (``https://host:443``) to the header that answered that origin's
    challenge: the registry's own, and a redirect target's token. Each goes only to its own origin.
    """

    text: str
    ref: ImageReference
    base_url: str
    call: _CallState
    authorizations: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``registry/repository`` as the user would recognise it (``docker.io/library/nginx``)."""
        return self.ref.name

    @property
    def origin(self) -> str:
        return _origin(httpx.URL(self.base_url))


@dataclass(frozen=True)
class _Challenge:
    scheme: str
    params: dict[str, str]


_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_www_authenticate(value: str) -> _Challenge | None:
    """``Bearer realm="...",service="...",scope="..."`` → scheme and parameters.

    Only the first challenge is used: registries send one, and scope values contain commas
    (``repository:x:pull,push``) so splitting on commas between challenges would be wrong anyway.
    """
    text = value.strip()
    if not text:
        return None
    scheme, _, rest = text.partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return _Challenge(scheme.lower(), {k: v.replace('\\"', '"') for k, v in params.items()})


def _host_of(registry: str) -> str:
    if registry.startswith("["):
        return registry[1 : registry.index("]")]
    return registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry


def is_loopback(registry: str) -> bool:
    """True for a literal loopback address (127.0.0.0/8, ``::1``) or exactly ``localhost``, with or
    without a port. Any other name, ``*.localhost`` included, is resolved like every name is, so it is
    not trusted to stay on this machine."""
    host = _host_of(registry).lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 for IPv4, exactly ::1 for IPv6
    except ValueError:
        return False


def plain_http_allowed(registry: str, insecure_registries: Iterable[str] = ()) -> bool:
    """Whether ``host[:port]`` may be spoken to without TLS: loopback, or listed (with or without port)."""
    insecure = {entry.strip().lower() for entry in insecure_registries}
    return is_loopback(registry) or registry.lower() in insecure or _host_of(registry).lower() in insecure


def base_url_for(registry: str, insecure_registries: Iterable[str] = ()) -> str:
    """Plain HTTP only where no one else can be on the wire (loopback) or where the user said so."""
    plain = plain_http_allowed(registry, insecure_registries)
    return f"{'http' if plain else 'https'}://{registry}"


def _origin(url: httpx.URL) -> str:
    """``scheme://host:port`` with the default port spelled out: what credentials and tokens are bound to."""
    host = url.raw_host.decode("ascii").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{url.scheme}://{host}:{url.port or _DEFAULT_PORTS.get(url.scheme, 0)}"


def _netloc(url: httpx.URL) -> str:
    return url.netloc.decode("ascii")


def _verify_digest(body: bytes, digest: str, what: str, served_by: str) -> None:
    """Raise unless ``body`` hashes to ``digest``: whatever is fetched by digest must be that object."""
    algorithm, _, encoded = digest.partition(":")
    if algorithm not in _VERIFIABLE or len(encoded) != _VERIFIABLE[algorithm]:
        raise _ImageError(ErrorKind.UNSUPPORTED, f"cannot verify {what}: unsupported digest {digest!r}")
    computed = hashlib.new(algorithm, body).hexdigest()
    if computed != encoded.lower():
        raise _ImageError(
            ErrorKind.DIGEST_MISMATCH,
            f"digest mismatch: {what} served by {served_by} hashes to {algorithm}:{computed}, not {digest}",
        )


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _errno_of(exc: BaseException) -> int | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        current = current.__cause__ or current.__context__
    return None


_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def _connect_failure_text(exc: httpx.TransportError) -> str:
    code = _errno_of(exc)
    if code in _ERRNO_TEXT:
        return _ERRNO_TEXT[code]
    text = str(exc)
    lowered = text.lower()
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or "getaddrinfo" in lowered
    ):
        return "host name not found"
    if "connection refused" in lowered:
        return "connection refused"
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text) or type(exc).__name__


def _is_tls_failure(exc: BaseException) -> bool:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    return "ssl" in str(exc).lower() or "certificate" in str(exc).lower()


def _registry_error_text(body: bytes) -> str:
    """First message of a distribution ``{"errors": [...]}`` body, or ''."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(doc, dict) and isinstance(doc.get("errors"), list) and doc["errors"]:
        first = doc["errors"][0]
        if isinstance(first, dict):
            code, message = first.get("code"), first.get("message")
            return str(message or code or "")
    return ""


def _registry_error_code(body: bytes) -> str:
    try:
        doc = json.loads(body)
        return str(doc["errors"][0]["code"])
    except (ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError):
        return ""


class RegistryClient:
    """Reads image platforms from registries; one instance may be shared (it is thread-safe).

    Parameters are the knobs a CLI exposes: timeouts for slow links, attempts/backoff for flaky ones,
    ``insecure_registries`` for plain-HTTP registries that are not on loopback.
    """

    def __init__(
        self,
        *,
        parallelism: int = DEFAULT_PARALLELISM,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = DEFAULT_BACKOFF,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        body_deadline: float = DEFAULT_BODY_DEADLINE,
        insecure_registries: Iterable[str] = (),
        credentials: DockerCredentials | None = None,
        verify_children: bool = True,
        verify: ssl.SSLContext | str | bool = True,
        transport: httpx.BaseTransport | None = None,
    ):
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.parallelism = parallelism
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.attempts = attempts
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.body_deadline = body_deadline
        self.insecure_registries = tuple(insecure_registries)
        self.verify_children = verify_children
        self.credentials = credentials if credentials is not None else DockerCredentials()
        self._http = httpx.Client(
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=read_timeout, pool=read_timeout
            ),
            limits=httpx.Limits(max_connections=parallelism * 2, max_keepalive_connections=parallelism),
            # registry.k8s.io answers every /v2/ request with a redirect to a regional mirror, and
            # blobs commonly redirect to object storage: followed in _send_once, hop by hop.
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT},
            verify=verify,
            transport=transport,
            trust_env=True,
        )
        # Authorization headers with their expiry (monotonic), always bound to the origin whose
        # challenge they answered: per repository and origin, to send up front, and per challenge, so a
        # host that keeps challenging (after a redirect) costs no new token.
        self._by_repository: dict[tuple[str, str], dict[str, tuple[str, float]]] = {}
        self._by_challenge: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- public

    def platforms_of(
        self, refs: Sequence[str], *, on_progress: Callable[[int, int], None] | None = None
    ) -> list[ImagePlatforms]:
        """One result per reference, in the order given; never raises for a single image.

        ``on_progress(done, total)`` is called from the calling thread, once at the start and after each
        distinct reference finishes, so a terminal progress bar needs no locking.
        """
        if isinstance(refs, str):  # a lone string would be read as one image per character
            raise TypeError("platforms_of takes a sequence of references, not a string")
        unique = list(dict.fromkeys(refs))
        total = len(unique)
        if on_progress:
            on_progress(0, total)
        results: dict[str, ImagePlatforms] = {}
        if unique:
            call = _CallState()
            with ThreadPoolExecutor(
                max_workers=min(self.parallelism, total), thread_name_prefix="armful-registry"
            ) as pool:
                futures = {pool.submit(self._read_image, image, call): image for image in unique}
                for done, future in enumerate(as_completed(futures), start=1):
                    image = futures[future]
                    try:
                        results[image] = future.result()
                    except Exception as exc:  # the per-image boundary: one bug must not lose the others
                        logger.debug("reading %s failed unexpectedly", image, exc_info=True)
                        results[image] = _failed(
                            image, ErrorKind.INTERNAL, f"unexpected error reading {image}: {exc!r}"
                        )
                    if on_progress:
                        on_progress(done, total)
        return [results[image] for image in refs]

    def platforms_of_one(self, ref: str) -> ImagePlatforms:
        return self.platforms_of([ref])[0]

    # -------------------------------------------------------------------------------------- per image

    def _read_image(self, text: str, call: _CallState) -> ImagePlatforms:
        try:
            ref = parse_reference(text)
        except InvalidReferenceError as exc:
            return _failed(text, ErrorKind.INVALID_REFERENCE, f"invalid image reference {text!r}: {exc}")
        image = _Image(
            text=text, ref=ref, base_url=base_url_for(ref.registry, self.insecure_registries), call=call
        )
        image.authorizations = self._cached_authorizations(ref)
        try:
            digest, platforms = self._read_platforms(image)
        except _ImageError as exc:
            return _failed(text, exc.kind, exc.message)
        except Exception as exc:  # e.g. an unexpected document shape: still only this image fails
            logger.debug("reading %s failed unexpectedly", text, exc_info=True)
            return _failed(
                text, ErrorKind.INTERNAL, f"unexpected error reading {text}: {type(exc).__name__}: {exc}"
            )
        return ImagePlatforms(image=text, digest=digest, platforms=tuple(platforms), error=None)

    def _read_platforms(self, image: _Image) -> tuple[str, set[str]]:
        ref = image.ref
        what = f"manifest of {image.text}"
        response = self._get_manifest(image, ref.reference, what=what)
        if ref.digest:
            _verify_digest(response.body, ref.digest, what, self._served_by(image, response))
        digest = response.headers.get("docker-content-digest") or ""
        computed = "sha256:" + hashlib.sha256(response.body).hexdigest()
        # The header is what the registry indexes by; the body hash is the fallback the spec defines.
        digest = ref.digest or digest or computed
        document = _parse_json_object(response.body, what)
        platforms = self._platforms_of_document(image, document, _media_type(response), what=what, depth=0)
        if not platforms:
            raise _ImageError(
                ErrorKind.NO_PLATFORMS, f"no platform listed for {image.text} ({_describe(document)})"
            )
        return digest, platforms

    def _platforms_of_document(
        self, image: _Image, document: dict[str, Any], content_type: str, *, what: str, depth: int
    ) -> set[str]:
        media_type = document.get("mediaType") if isinstance(document.get("mediaType"), str) else content_type
        if media_type in _INDEX_TYPES or (
            media_type not in _IMAGE_MANIFEST_TYPES and "manifests" in document
        ):
            return self._platforms_of_index(image, document, what=what, depth=depth)
        if media_type in _SCHEMA1_TYPES or document.get("schemaVersion") == 1:
            # Schema 1 carries its architecture inline and predates multi-OS images.
            arch = document.get("architecture")
            return {f"linux/{arch}"} if isinstance(arch, str) and arch else set()
        if media_type in _IMAGE_MANIFEST_TYPES or "config" in document:
            return self._platform_of_config(image, document, what=what)
        raise _ImageError(
            ErrorKind.UNSUPPORTED, f"{what} has unsupported media type {media_type or 'none'!r}"
        )

    def _platforms_of_index(self, image: _Image, index: dict[str, Any], *, what: str, depth: int) -> set[str]:
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise _ImageError(ErrorKind.MALFORMED, f"malformed {what}: 'manifests' is not a list")
        found: set[str] = set()
        checked: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
                raise _ImageError(ErrorKind.MALFORMED, f"malformed {what}: an entry has no digest")
            child = entry["digest"]
            if not _DIGEST_GRAMMAR.fullmatch(child):
                raise _ImageError(ErrorKind.MALFORMED, f"malformed {what}: invalid digest {child!r}")
            annotations = entry.get("annotations")
            if isinstance(annotations, dict) and annotations.get(ATTESTATION_ANNOTATION) == ATTESTATION_VALUE:
                continue  # BuildKit provenance/SBOM: describes an image, runs nowhere
            platform = entry.get("platform")
            if isinstance(platform, dict):
                os_name, arch = platform.get("os"), platform.get("architecture")
                if os_name == "unknown" or arch == "unknown":
                    continue  # attestations written without the annotation (older BuildKit)
                if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
                    raise _ImageError(
                        ErrorKind.MALFORMED, f"malformed {what}: entry {child} has no os/architecture"
                    )
                label = f"{os_name}/{arch}"
                if self.verify_children and child not in checked:
                    checked.add(child)
                    self._require_child(image, child, label)
                found.add(label)
                continue
            # No platform on the entry (nested index, or an artifact): the child itself must say.
            if depth + 1 >= MAX_INDEX_DEPTH:
                raise _ImageError(
                    ErrorKind.MALFORMED, f"{what}: indexes nested deeper than {MAX_INDEX_DEPTH}"
                )
            child_what = f"index child {child} of {image.text}"
            response = self._get_manifest(image, child, what=child_what, child=True)
            _verify_digest(response.body, child, child_what, self._served_by(image, response))
            document = _parse_json_object(response.body, child_what)
            found |= self._platforms_of_document(
                image, document, _media_type(response), what=child_what, depth=depth + 1
            )
        return found

    def _require_child(self, image: _Image, digest: str, label: str) -> None:
        url = f"{image.base_url}/v2/{image.ref.repository}/manifests/{digest}"
        what = f"index child {digest} ({label}) of {image.text}"
        response = self._fetch(image, "HEAD", url, what=what, accept=MANIFEST_ACCEPT, limit=0)
        fetched = response.status == 405  # a registry without HEAD support: GET says the same thing
        if fetched:
            response = self._fetch(
                image, "GET", url, what=what, accept=MANIFEST_ACCEPT, limit=MAX_MANIFEST_BYTES
            )
        if response.status == 404:
            raise _ImageError(
                ErrorKind.MISSING_CHILD,
                f"index child {digest} ({label}) missing from {image.where}: "
                f"the index of {image.text} lists it but the registry does not have it",
            )
        self._raise_for_status(image, response, what)
        if fetched:  # a body in hand is checked like any other fetched by digest
            _verify_digest(response.body, digest, what, self._served_by(image, response))

    def _get_manifest(self, image: _Image, reference: str, *, what: str, child: bool = False) -> _Response:
        url = f"{image.base_url}/v2/{image.ref.repository}/manifests/{reference}"
        response = self._fetch(image, "GET", url, what=what, accept=MANIFEST_ACCEPT, limit=MAX_MANIFEST_BYTES)
        if response.status == 404:
            code = _registry_error_code(response.body)
            if child:
                raise _ImageError(
                    ErrorKind.MISSING_CHILD, f"index child {reference} missing from {image.where} ({what})"
                )
            if code == "NAME_UNKNOWN":
                raise _ImageError(
                    ErrorKind.NOT_FOUND,
                    f"name unknown: repository {image.ref.repository} not found in {image.ref.domain}",
                )
            kind = "digest" if reference.startswith("sha") and ":" in reference else "tag"
            raise _ImageError(
                ErrorKind.NOT_FOUND, f"manifest unknown: {kind} {reference} not found in {image.where}"
            )
        self._raise_for_status(image, response, what)
        return response

    def _platform_of_config(self, image: _Image, manifest: dict[str, Any], *, what: str) -> set[str]:
        config = manifest.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            raise _ImageError(ErrorKind.MALFORMED, f"malformed {what}: no config descriptor")
        digest = config["digest"]
        if not _DIGEST_GRAMMAR.fullmatch(digest):
            raise _ImageError(ErrorKind.MALFORMED, f"malformed {what}: invalid config digest {digest!r}")
        config_what = f"config blob {digest} of {image.text}"
        url = f"{image.base_url}/v2/{image.ref.repository}/blobs/{digest}"
        response = self._fetch(image, "GET", url, what=config_what, accept="*/*", limit=MAX_CONFIG_BYTES)
        if response.status == 404:
            raise _ImageError(
                ErrorKind.MISSING_CHILD, f"config blob {digest} of {image.text} missing from {image.where}"
            )
        self._raise_for_status(image, response, config_what)
        _verify_digest(response.body, digest, config_what, self._served_by(image, response))
        blob = _parse_json_object(response.body, config_what)
        os_name, arch = blob.get("os"), blob.get("architecture")
        if isinstance(os_name, str) and isinstance(arch, str) and os_name and arch:
            return {f"{os_name}/{arch}"}
        # Helm charts, signatures and other artifacts have configs without a platform: not images.
        return set()

    @staticmethod
    def _served_by(image: _Image, response: _Response) -> str:
        return _who(_netloc(response.url), image.ref.registry)

    def _raise_for_status(self, image: _Image, response: _Response, what: str) -> None:
        status = response.status
        if 200 <= status < 300:
            return
        detail = _registry_error_text(response.body)
        suffix = f": {detail}" if detail else ""
        registry = image.ref.registry
        if status == 401:
            raise _ImageError(
                ErrorKind.UNAUTHORIZED, f"registry {registry} refused {what} (HTTP 401){suffix}"
            )
        if status == 403:
            raise _ImageError(ErrorKind.DENIED, f"access to {what} denied by {registry} (HTTP 403){suffix}")
        if status == 429:
            raise _ImageError(
                ErrorKind.RATE_LIMITED,
                f"rate limited by {registry} (HTTP 429) reading {what}{_tries(response)}",
            )
        if status >= 500:
            raise _ImageError(
                ErrorKind.SERVER_ERROR,
                f"registry {registry} answered HTTP {status} for {what}{_tries(response)}{suffix}",
            )
        raise _ImageError(
            ErrorKind.PROTOCOL, f"registry {registry} answered HTTP {status} for {what}{suffix}"
        )

    # ------------------------------------------------------------------------------------------- auth

    def _cached_authorizations(self, ref: ImageReference) -> dict[str, str]:
        """Per origin, the headers that last worked for this repository: each is attached to a request
        to its own origin up front (redirect hops included), saving a 401 round trip."""
        now = time.monotonic()
        with self._tokens_lock:
            cached = dict(self._by_repository.get((ref.registry, ref.repository), {}))
        return {origin: value for origin, (value, expires) in cached.items() if expires > now}

    def _fetch(
        self, image: _Image, method: str, url: str, *, what: str, accept: str, limit: int
    ) -> _Response:
        """One request with retries, answering one auth challenge if the registry sends 401."""
        response = self._send(image, method, url, what=what, accept=accept, limit=limit)
        if response.status != 401:
            return response
        registry = image.ref.registry
        # The challenge is answered for the origin that sent it, which after a redirect is not the
        # registry: what is obtained there is sent there only.
        origin, host = _origin(response.url), _netloc(response.url)
        challenge = parse_www_authenticate(response.headers.get("www-authenticate", ""))
        if challenge is None:
            raise _ImageError(
                ErrorKind.UNAUTHORIZED,
                f"{_who(host, registry)} answered 401 for {what} without an auth challenge",
            )
        rejected = response.sent_authorization
        if (
            challenge.scheme == "bearer"
            and challenge.params.get("error") == "insufficient_scope"
            and rejected
        ):
            raise _ImageError(
                ErrorKind.DENIED,
                f"access to {what} denied by {_who(host, registry)}: "
                "the repository does not exist or needs other credentials",
            )
        image.authorizations[origin] = self._authorize(
            image, challenge, what, rejected=rejected, origin=origin, host=host
        )
        # Retry where the challenge came from. After a cross-origin redirect (registry.k8s.io sends
        # every request to a regional Artifact Registry) asking the first host again would only be
        # redirected to the same place.
        response = self._send(image, method, str(response.url), what=what, accept=accept, limit=limit)
        if response.status == 401:
            if _origin(response.url) != image.origin:
                raise _ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"{_netloc(response.url)} (redirected to by registry {registry}) refused {what} with an "
                    f"anonymous token: credentials for {registry} are not sent to another host",
                )
            lookup = self.credentials.lookup(image.ref.domain)
            who = (
                f"with credentials from {lookup.credentials.source}"
                if lookup.credentials
                else f"anonymously ({lookup.note})"
            )
            raise _ImageError(
                ErrorKind.UNAUTHORIZED,
                f"registry {registry} refused {what} {who}: the repository is private, missing, "
                "or the credentials lack pull access",
            )
        return response

    def _authorize(
        self,
        image: _Image,
        challenge: _Challenge,
        what: str,
        *,
        rejected: str | None,
        origin: str,
        host: str,
    ) -> str:
        """An Authorization header for ``origin`` answering its ``challenge``; ``rejected`` is the one
        just refused there.

        The user's credentials answer only the registry's own origin: a Basic challenge from it, or the
        token service its Bearer challenge names (Docker Hub's and ECR's are on other hosts). A host the
        registry redirected to gets an anonymous token, and its Basic challenge is refused.
        """
        ref = image.ref
        own = origin == image.origin
        who = _who(host, ref.registry)
        lookup = self.credentials.lookup(ref.domain)
        if challenge.scheme == "basic":
            if not own:
                raise _ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"{host} (redirected to by registry {ref.registry}) asks for Basic credentials for "
                    f"{what}: refused, credentials for {ref.registry} are sent only to {ref.registry} itself",
                )
            if lookup.credentials is None:
                raise _ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"registry {ref.registry} requires credentials (Basic auth) for {what}: {lookup.note}",
                )
            value = _basic(lookup.credentials)
            self._remember(ref, origin, value, lifetime=3600.0)
            return value
        if challenge.scheme != "bearer":
            raise _ImageError(ErrorKind.UNAUTHORIZED, f"{who} asks for unsupported auth {challenge.scheme!r}")
        realm = challenge.params.get("realm")
        if not realm:
            raise _ImageError(ErrorKind.UNAUTHORIZED, f"{who} sent a Bearer challenge without a realm")
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL:
            realm_url = None
        if realm_url is None or realm_url.scheme not in _DEFAULT_PORTS or not realm_url.host:
            raise _ImageError(ErrorKind.UNAUTHORIZED, f"{who} names an invalid token service {realm!r}")
        if realm_url.scheme == "http" and not plain_http_allowed(
            _netloc(realm_url), self.insecure_registries
        ):
            raise _ImageError(
                ErrorKind.INSECURE,
                f"{who} names a token service on plain HTTP ({realm}) for {what}: refused {_PLAIN_HTTP_RULE}",
            )
        scope = challenge.params.get("scope") or f"repository:{ref.repository}:pull"
        service = challenge.params.get("service", "")
        # The origin is part of the key: a token is reused only for the origin whose challenge it answered.
        key = (origin, realm, service, scope)
        with self._tokens_lock:
            cached = self._by_challenge.get(key)
        if cached and cached[1] > time.monotonic() and cached[0] != rejected:
            return cached[0]

        params = {"scope": scope, **({"service": service} if service else {})}
        headers = {"Accept": "application/json"}
        credentials = lookup.credentials if own else None
        if credentials is not None:
            headers["Authorization"] = _basic(credentials)
        token_what = f"a pull token for {image.text} from {realm}"
        response = self._send(
            image,
            "GET",
            str(realm_url.copy_merge_params(params)),
            what=token_what,
            headers=headers,
            limit=MAX_TOKEN_BYTES,
            registry_auth=False,
        )
        if response.status in (401, 403):
            if not own:
                raise _ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"token service {realm} refused anonymous access for {image.text} (HTTP "
                    f"{response.status}): {host} named it after registry {ref.registry} redirected there, "
                    f"and credentials for {ref.registry} go only to token services {ref.registry} names itself",
                )
            sent = (
                f"the credentials from {credentials.source}"
                if credentials
                else f"anonymous access ({lookup.note})"
            )
            raise _ImageError(
                ErrorKind.UNAUTHORIZED,
                f"token service {realm} refused {sent} for {image.text} (HTTP {response.status})",
            )
        self._raise_for_status(image, response, token_what)
        answer = _parse_json_object(response.body, f"token response from {realm}")
        token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise _ImageError(ErrorKind.MALFORMED, f"token response from {realm} has no token")
        expires = answer.get("expires_in")
        lifetime = (
            float(expires) if isinstance(expires, int | float) and expires > 0 else _DEFAULT_TOKEN_LIFETIME
        )
        value = f"Bearer {token}"
        # Renew a little early so a token never expires between the manifest and its config blob.
        lifetime = max(1.0, lifetime - 10.0)
        with self._tokens_lock:
            self._by_challenge[key] = (value, time.monotonic() + lifetime)
        self._remember(ref, origin, value, lifetime=lifetime)
        return value

    def _remember(self, ref: ImageReference, origin: str, value: str, *, lifetime: float) -> None:
        with self._tokens_lock:
            by_origin = self._by_repository.setdefault((ref.registry, ref.repository), {})
            by_origin[origin] = (value, time.monotonic() + lifetime)

    def _check_redirect(self, image: _Image, source: httpx.URL, target: httpx.URL, what: str) -> None:
        """Refuse a redirect to plain HTTP unless the target may be spoken to without TLS."""
        if target.scheme == "https":
            return
        who = _who(_netloc(source), image.ref.registry)
        if target.scheme != "http":
            raise _ImageError(
                ErrorKind.PROTOCOL, f"{who} redirected {what} to an unsupported URL scheme {target.scheme!r}"
            )
        if plain_http_allowed(_netloc(target), self.insecure_registries):
            return
        raise _ImageError(
            ErrorKind.INSECURE,
            f"{who} redirected {what} to plain HTTP at {_netloc(target)}: refused {_PLAIN_HTTP_RULE}",
        )

    # -------------------------------------------------------------------------------------- transport

    def _send(
        self,
        image: _Image,
        method: str,
        url: str,
        *,
        what: str,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        limit: int,
        registry_auth: bool = True,
    ) -> _Response:
        """Send with retries on 429, 5xx and dropped connections.

        Refused connections and timeouts are not retried: a host that is down or stalled stays so for
        the next second, and retrying would multiply the time a user waits by ``attempts``.
        """
        request_headers = dict(headers or {})
        if accept:
            request_headers["Accept"] = accept
        registry = image.ref.registry
        for attempt in range(1, self.attempts + 1):
            host = httpx.URL(url).netloc.decode("ascii")
            with image.call.lock:
                dead = image.call.dead_hosts.get(host)
            if dead:
                kind, reason = dead
                if kind is ErrorKind.TIMEOUT:
                    reason = f"timed out reading {what} from {host}: {reason}"
                raise _ImageError(kind, reason)
            try:
                response = self._send_once(
                    image, method, url, request_headers, limit=limit, what=what, registry_auth=registry_auth
                )
            except httpx.ConnectTimeout as exc:
                failing = _host_key(exc, host)
                message = f"{_who(failing, registry)} unreachable: connect timed out after {self.connect_timeout:g} s"
                self._mark_dead(image, exc, host, message)
                raise _ImageError(ErrorKind.UNREACHABLE, message) from None
            except httpx.ConnectError as exc:
                failing = _host_key(exc, host)
                if _is_tls_failure(exc):
                    hint = (
                        ""
                        if is_loopback(failing)
                        else " (if it serves plain HTTP, list it in insecure_registries)"
                    )
                    raise _ImageError(
                        ErrorKind.TLS, f"TLS error talking to {_who(failing, registry)}: {exc}{hint}"
                    ) from None
                message = f"{_who(failing, registry)} unreachable: {_connect_failure_text(exc)}"
                self._mark_dead(image, exc, host, message)
                raise _ImageError(ErrorKind.UNREACHABLE, message) from None
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
                failing = _host_key(exc, host)
                silent = f"(no answer within {self.read_timeout:g} s)"
                self._mark_dead(
                    image,
                    exc,
                    host,
                    f"not asked, the registry went silent earlier in this run {silent}",
                    kind=ErrorKind.TIMEOUT,
                )
                raise _ImageError(
                    ErrorKind.TIMEOUT, f"timed out reading {what} from {failing} {silent}"
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if attempt < self.attempts:
                    self._sleep(self._backoff_delay(attempt))
                    continue
                raise _ImageError(
                    ErrorKind.UNREACHABLE,
                    f"connection to {_host_key(exc, host)} dropped while reading {what} "
                    f"({self.attempts} attempts): {exc or type(exc).__name__}",
                ) from None
            except httpx.TransportError as exc:  # proxy errors...
                raise _ImageError(
                    ErrorKind.PROTOCOL, f"could not read {what} from {registry}: {exc}"
                ) from None
            response.attempts = attempt
            transient = response.status == 429 or (
                response.status >= 500 and response.status not in (501, 505)
            )
            if transient and attempt < self.attempts:
                retry_after = _retry_after_seconds(response.headers.get("retry-after"))
                delay = self._backoff_delay(attempt) if retry_after is None else retry_after
                self._sleep(min(delay, self.max_retry_after))
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _send_once(
        self,
        image: _Image,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        limit: int,
        what: str,
        registry_auth: bool,
    ) -> _Response:
        """One request, following redirects by hand so that every hop is checked (no plain HTTP to an
        untrusted host) and carries only the Authorization for its own origin."""
        registry = image.ref.registry
        deadline = time.monotonic() + self.body_deadline
        # An Authorization the caller set (credentials for a token service) is for that URL's origin only.
        headers = dict(headers)  # the caller's dict serves every retry attempt
        explicit = headers.pop("Authorization", None)
        first_origin = _origin(httpx.URL(url))
        request = self._http.build_request(method, url, headers=headers)
        for hop in range(MAX_REDIRECTS + 1):
            target = _origin(request.url)
            request.headers.pop("Authorization", None)
            if explicit is not None:
                if target == first_origin:
                    request.headers["Authorization"] = explicit
            elif registry_auth and target in image.authorizations:
                request.headers["Authorization"] = image.authorizations[target]
            with contextlib.closing(self._http.send(request, stream=True)) as response:
                if response.has_redirect_location:
                    if hop == MAX_REDIRECTS:
                        raise _ImageError(
                            ErrorKind.PROTOCOL, f"too many redirects reading {what} from {registry}"
                        )
                    following = response.next_request
                    if following is None:  # pragma: no cover - httpx sets it whenever it does not follow
                        raise _ImageError(ErrorKind.PROTOCOL, f"unfollowable redirect reading {what}")
                    self._check_redirect(image, request.url, following.url, what)
                    request = following
                    continue
                # Error bodies are read too (capped): distribution explains 404s and 401s in them.
                cap = limit if 200 <= response.status_code < 300 else min(limit, MAX_ERROR_BYTES)
                chunks: list[bytes] = []
                size = 0
                if request.method != "HEAD":  # a 303 turns a HEAD into a GET
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > cap:
                            if 200 <= response.status_code < 300:
                                raise _ImageError(
                                    ErrorKind.MALFORMED, f"{what} from {registry} is larger than {cap} bytes"
                                )
                            break
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise _ImageError(
                                ErrorKind.TIMEOUT,
                                f"timed out reading {what} from {registry} (over {self.body_deadline:g} s)",
                            )
                return _Response(
                    response.status_code,
                    response.headers,
                    b"".join(chunks),
                    response.url,
                    sent_authorization=request.headers.get("authorization"),
                )
        raise AssertionError("unreachable: the last hop returns or raises")  # pragma: no cover

    def _mark_dead(
        self,
        image: _Image,
        exc: httpx.TransportError,
        host: str,
        message: str,
        *,
        kind: ErrorKind = ErrorKind.UNREACHABLE,
    ) -> None:
        with image.call.lock:
            image.call.dead_hosts.setdefault(_host_key(exc, host), (kind, message))

    def _backoff_delay(self, attempt: int) -> float:
        # Jitter keeps eight worker threads that all hit a 503 from retrying in lockstep.
        return self.backoff * (2.0 ** (attempt - 1)) * (1.0 + random.uniform(0.0, 0.1))

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def _host_key(exc: httpx.TransportError, fallback: str) -> str:
    try:
        return exc.request.url.netloc.decode("ascii")
    except RuntimeError:  # no request attached
        return fallback


def _who(host: str, registry: str) -> str:
    """Name the host that failed; a token service or redirect target is not the registry itself."""
    return f"registry {host}" if host == registry else f"{host} (used by registry {registry})"


def _tries(response: _Response) -> str:
    return f" after {response.attempts} attempts" if response.attempts > 1 else ""


def _basic(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _media_type(response: _Response) -> str:
    return str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def _parse_json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _ImageError(ErrorKind.MALFORMED, f"malformed JSON in {what}: {exc}") from None
    if not isinstance(document, dict):
        raise _ImageError(ErrorKind.MALFORMED, f"malformed JSON in {what}: not an object")
    return document


def _describe(document: dict[str, Any]) -> str:
    if isinstance(document.get("manifests"), list):
        return "its index lists only attestations or artifacts"
    config = document.get("config")
    if isinstance(config, dict) and config.get("mediaType"):
        return f"not a container image: config type {config['mediaType']}"
    return "no os/architecture in its config"


def _failed(image: str, kind: ErrorKind, message: str) -> ImagePlatforms:
    return ImagePlatforms(image=image, digest=None, platforms=(), error=message, error_kind=kind)
