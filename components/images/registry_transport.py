"""HTTP to registries: where plain HTTP is allowed, retries, timeouts, and redirects checked hop by hop.

This is where the "what is sent where" rules of ``armful.images.registry`` are enforced for every
request: no redirect downgrades to plain HTTP on an untrusted host, and each hop carries only the
Authorization bound to its own origin. Answering auth challenges is ``registry_auth``'s job.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import json
import random
import re
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from armful.images.image_platforms import ErrorKind, ImageError
from armful.images.reference import ImageReference
from armful.images.registry_hosts import is_loopback, plain_http_allowed

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_RETRY_AFTER = 10.0
# A read timeout bounds each silence, not a whole response: this bounds a server that trickles bytes.
DEFAULT_BODY_DEADLINE = 60.0
MAX_ERROR_BYTES = 64 * 1024
# Redirects are followed by hand, each hop checked; httpx's own default limit.
MAX_REDIRECTS = 20
DEFAULT_PORTS = {"http": 80, "https": 443}
PLAIN_HTTP_RULE = "(only loopback hosts and those listed in insecure_registries are spoken to without TLS)"
_USER_AGENT = "armful-images/1 (+python-httpx)"


@dataclass
class Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL  # after redirects
    sent_authorization: str | None = None  # on the final request: each hop carries its origin's own
    attempts: int = 1


@dataclass
class CallState:
    """State shared by the images of one ``platforms_of`` call."""

    # Hosts that refused a connection or went silent: later requests fail fast instead of each
    # waiting out its own timeout against the same dead or stalled host.
    dead_hosts: dict[str, tuple[ErrorKind, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class ImageRead:
    """One image being read: what to call it in messages and, per origin, the auth header to send there.

    ``authorizations`` maps an origin (``https://host:443``) to the header that answered that origin's
    challenge: the registry's own, and a redirect target's token. Each goes only to its own origin.
    """

    text: str
    ref: ImageReference
    base_url: str
    call: CallState
    authorizations: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """``registry/repository`` as the user would recognise it (``docker.io/library/nginx``)."""
        return self.ref.name

    @property
    def origin(self) -> str:
        return origin_of(httpx.URL(self.base_url))


def base_url_for(registry: str, insecure_registries: Iterable[str] = ()) -> str:
    """Plain HTTP only where no one else can be on the wire (loopback) or where the user said so."""
    plain = plain_http_allowed(registry, insecure_registries)
    return f"{'http' if plain else 'https'}://{registry}"


def origin_of(url: httpx.URL) -> str:
    """``scheme://host:port`` with the default port spelled out: what credentials and tokens are bound to."""
    host = url.raw_host.decode("ascii").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{url.scheme}://{host}:{url.port or DEFAULT_PORTS.get(url.scheme, 0)}"


def netloc_of(url: httpx.URL) -> str:
    return url.netloc.decode("ascii")


def describe_host(host: str, registry: str) -> str:
    """Name the host that failed; a token service or redirect target is not the registry itself."""
    return f"registry {host}" if host == registry else f"{host} (used by registry {registry})"


def _host_key(exc: httpx.TransportError, fallback: str) -> str:
    try:
        return exc.request.url.netloc.decode("ascii")
    except RuntimeError:  # no request attached
        return fallback


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


def registry_error_code(body: bytes) -> str:
    try:
        doc = json.loads(body)
        return str(doc["errors"][0]["code"])
    except (ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError):
        return ""


def _tries(response: Response) -> str:
    return f" after {response.attempts} attempts" if response.attempts > 1 else ""


def raise_for_status(image: ImageRead, response: Response, what: str) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    detail = _registry_error_text(response.body)
    suffix = f": {detail}" if detail else ""
    registry = image.ref.registry
    if status == 401:
        raise ImageError(ErrorKind.UNAUTHORIZED, f"registry {registry} refused {what} (HTTP 401){suffix}")
    if status == 403:
        raise ImageError(ErrorKind.DENIED, f"access to {what} denied by {registry} (HTTP 403){suffix}")
    if status == 429:
        raise ImageError(
            ErrorKind.RATE_LIMITED,
            f"rate limited by {registry} (HTTP 429) reading {what}{_tries(response)}",
        )
    if status >= 500:
        raise ImageError(
            ErrorKind.SERVER_ERROR,
            f"registry {registry} answered HTTP {status} for {what}{_tries(response)}{suffix}",
        )
    raise ImageError(ErrorKind.PROTOCOL, f"registry {registry} answered HTTP {status} for {what}{suffix}")


def parse_json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageError(ErrorKind.MALFORMED, f"malformed JSON in {what}: {exc}") from None
    if not isinstance(document, dict):
        raise ImageError(ErrorKind.MALFORMED, f"malformed JSON in {what}: not an object")
    return document


class RegistryTransport:
    """Sends requests for images; thread-safe, one connection pool shared by all worker threads."""

    def __init__(
        self,
        *,
        parallelism: int,
        connect_timeout: float,
        read_timeout: float,
        attempts: int,
        backoff: float,
        max_retry_after: float,
        body_deadline: float,
        insecure_registries: Iterable[str],
        verify: ssl.SSLContext | str | bool,
        http_transport: httpx.BaseTransport | None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.attempts = attempts
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.body_deadline = body_deadline
        self.insecure_registries = tuple(insecure_registries)
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
            transport=http_transport,
            trust_env=True,
        )

    def close(self) -> None:
        self._http.close()

    def trusts_plain_http(self, url: httpx.URL) -> bool:
        """Whether ``url``'s host may be spoken to without TLS: a redirect target or a token service."""
        return plain_http_allowed(netloc_of(url), self.insecure_registries)

    def send(
        self,
        image: ImageRead,
        method: str,
        url: str,
        *,
        what: str,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        limit: int,
        registry_auth: bool = True,
    ) -> Response:
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
                raise ImageError(kind, reason)
            try:
                response = self._send_once(
                    image, method, url, request_headers, limit=limit, what=what, registry_auth=registry_auth
                )
            except httpx.ConnectTimeout as exc:
                failing = _host_key(exc, host)
                message = f"{describe_host(failing, registry)} unreachable: connect timed out after {self.connect_timeout:g} s"
                self._mark_dead(image, exc, host, message)
                raise ImageError(ErrorKind.UNREACHABLE, message) from None
            except httpx.ConnectError as exc:
                failing = _host_key(exc, host)
                if _is_tls_failure(exc):
                    hint = (
                        ""
                        if is_loopback(failing)
                        else " (if it serves plain HTTP, list it in insecure_registries)"
                    )
                    raise ImageError(
                        ErrorKind.TLS, f"TLS error talking to {describe_host(failing, registry)}: {exc}{hint}"
                    ) from None
                message = f"{describe_host(failing, registry)} unreachable: {_connect_failure_text(exc)}"
                self._mark_dead(image, exc, host, message)
                raise ImageError(ErrorKind.UNREACHABLE, message) from None
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
                raise ImageError(
                    ErrorKind.TIMEOUT, f"timed out reading {what} from {failing} {silent}"
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                if attempt < self.attempts:
                    self._sleep(self._backoff_delay(attempt))
                    continue
                raise ImageError(
                    ErrorKind.UNREACHABLE,
                    f"connection to {_host_key(exc, host)} dropped while reading {what} "
                    f"({self.attempts} attempts): {exc or type(exc).__name__}",
                ) from None
            except httpx.TransportError as exc:  # proxy errors...
                raise ImageError(
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
        image: ImageRead,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        limit: int,
        what: str,
        registry_auth: bool,
    ) -> Response:
        """One request, following redirects by hand so that every hop is checked (no plain HTTP to an
        untrusted host) and carries only the Authorization for its own origin."""
        registry = image.ref.registry
        deadline = time.monotonic() + self.body_deadline
        # An Authorization the caller set (credentials for a token service) is for that URL's origin only.
        headers = dict(headers)  # the caller's dict serves every retry attempt
        explicit = headers.pop("Authorization", None)
        first_origin = origin_of(httpx.URL(url))
        request = self._http.build_request(method, url, headers=headers)
        for hop in range(MAX_REDIRECTS + 1):
            target = origin_of(request.url)
            request.headers.pop("Authorization", None)
            if explicit is not None:
                if target == first_origin:
                    request.headers["Authorization"] = explicit
            elif registry_auth and target in image.authorizations:
                request.headers["Authorization"] = image.authorizations[target]
            with contextlib.closing(self._http.send(request, stream=True)) as response:
                if response.has_redirect_location:
                    if hop == MAX_REDIRECTS:
                        raise ImageError(
                            ErrorKind.PROTOCOL, f"too many redirects reading {what} from {registry}"
                        )
                    following = response.next_request
                    if following is None:  # pragma: no cover - httpx sets it whenever it does not follow
                        raise ImageError(ErrorKind.PROTOCOL, f"unfollowable redirect reading {what}")
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
                                raise ImageError(
                                    ErrorKind.MALFORMED, f"{what} from {registry} is larger than {cap} bytes"
                                )
                            break
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise ImageError(
                                ErrorKind.TIMEOUT,
                                f"timed out reading {what} from {registry} (over {self.body_deadline:g} s)",
                            )
                return Response(
                    response.status_code,
                    response.headers,
                    b"".join(chunks),
                    response.url,
                    sent_authorization=request.headers.get("authorization"),
                )
        raise AssertionError("unreachable: the last hop returns or raises")  # pragma: no cover

    def _check_redirect(self, image: ImageRead, source: httpx.URL, target: httpx.URL, what: str) -> None:
        """Refuse a redirect to plain HTTP unless the target may be spoken to without TLS."""
        if target.scheme == "https":
            return
        who = describe_host(netloc_of(source), image.ref.registry)
        if target.scheme != "http":
            raise ImageError(
                ErrorKind.PROTOCOL, f"{who} redirected {what} to an unsupported URL scheme {target.scheme!r}"
            )
        if self.trusts_plain_http(target):
            return
        raise ImageError(
            ErrorKind.INSECURE,
            f"{who} redirected {what} to plain HTTP at {netloc_of(target)}: refused {PLAIN_HTTP_RULE}",
        )

    def _mark_dead(
        self,
        image: ImageRead,
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
