"""Answering registry auth challenges: Basic with the user's Docker credentials, or a Bearer token.

Credentials answer only the registry's own origin (a Basic challenge from it, or the token service its
Bearer challenge names); a host the registry redirects to gets an anonymous token at most. Every header
obtained is cached under the origin whose challenge it answered and is sent nowhere else.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass

import httpx

from armful.images.credentials import Credentials, DockerCredentials
from armful.images.image_platforms import ErrorKind, ImageError
from armful.images.reference import ImageReference
from armful.images.registry_transport import (
    DEFAULT_PORTS,
    PLAIN_HTTP_RULE,
    ImageRead,
    RegistryTransport,
    Response,
    describe_host,
    netloc_of,
    origin_of,
    parse_json_object,
    raise_for_status,
)

MAX_TOKEN_BYTES = 1024 * 1024
# Tokens without ``expires_in`` are valid for at least 60 s per the Docker token spec.
_DEFAULT_TOKEN_LIFETIME = 60.0
_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_www_authenticate(value: str) -> Challenge | None:
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
    return Challenge(scheme.lower(), {k: v.replace('\\"', '"') for k, v in params.items()})


def _basic(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class RegistryAuth:
    """Sends requests through ``transport`` and answers the auth challenges they meet; thread-safe."""

    def __init__(self, transport: RegistryTransport, credentials: DockerCredentials) -> None:
        self._transport = transport
        self._credentials = credentials
        # Authorization headers with their expiry (monotonic), always bound to the origin whose
        # challenge they answered: per repository and origin, to send up front, and per challenge, so a
        # host that keeps challenging (after a redirect) costs no new token.
        self._by_repository: dict[tuple[str, str], dict[str, tuple[str, float]]] = {}
        self._by_challenge: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()

    def cached_authorizations(self, ref: ImageReference) -> dict[str, str]:
        """Per origin, the headers that last worked for this repository: each is attached to a request
        to its own origin up front (redirect hops included), saving a 401 round trip."""
        now = time.monotonic()
        with self._tokens_lock:
            cached = dict(self._by_repository.get((ref.registry, ref.repository), {}))
        return {origin: value for origin, (value, expires) in cached.items() if expires > now}

    def fetch(
        self, image: ImageRead, method: str, url: str, *, what: str, accept: str, limit: int
    ) -> Response:
        """One request with retries, answering one auth challenge if the registry sends 401."""
        response = self._transport.send(image, method, url, what=what, accept=accept, limit=limit)
        if response.status != 401:
            return response
        registry = image.ref.registry
        # The challenge is answered for the origin that sent it, which after a redirect is not the
        # registry: what is obtained there is sent there only.
        origin, host = origin_of(response.url), netloc_of(response.url)
        challenge = parse_www_authenticate(response.headers.get("www-authenticate", ""))
        if challenge is None:
            raise ImageError(
                ErrorKind.UNAUTHORIZED,
                f"{describe_host(host, registry)} answered 401 for {what} without an auth challenge",
            )
        rejected = response.sent_authorization
        if (
            challenge.scheme == "bearer"
            and challenge.params.get("error") == "insufficient_scope"
            and rejected
        ):
            raise ImageError(
                ErrorKind.DENIED,
                f"access to {what} denied by {describe_host(host, registry)}: "
                "the repository does not exist or needs other credentials",
            )
        image.authorizations[origin] = self._authorize(
            image, challenge, what, rejected=rejected, origin=origin, host=host
        )
        # Retry where the challenge came from. After a cross-origin redirect (registry.k8s.io sends
        # every request to a regional Artifact Registry) asking the first host again would only be
        # redirected to the same place.
        response = self._transport.send(
            image, method, str(response.url), what=what, accept=accept, limit=limit
        )
        if response.status == 401:
            if origin_of(response.url) != image.origin:
                raise ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"{netloc_of(response.url)} (redirected to by registry {registry}) refused {what} with an "
                    f"anonymous token: credentials for {registry} are not sent to another host",
                )
            lookup = self._credentials.lookup(image.ref.domain)
            who = (
                f"with credentials from {lookup.credentials.source}"
                if lookup.credentials
                else f"anonymously ({lookup.note})"
            )
            raise ImageError(
                ErrorKind.UNAUTHORIZED,
                f"registry {registry} refused {what} {who}: the repository is private, missing, "
                "or the credentials lack pull access",
            )
        return response

    def _authorize(
        self,
        image: ImageRead,
        challenge: Challenge,
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
        who = describe_host(host, ref.registry)
        lookup = self._credentials.lookup(ref.domain)
        if challenge.scheme == "basic":
            if not own:
                raise ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"{host} (redirected to by registry {ref.registry}) asks for Basic credentials for "
                    f"{what}: refused, credentials for {ref.registry} are sent only to {ref.registry} itself",
                )
            if lookup.credentials is None:
                raise ImageError(
                    ErrorKind.UNAUTHORIZED,
                    f"registry {ref.registry} requires credentials (Basic auth) for {what}: {lookup.note}",
                )
            value = _basic(lookup.credentials)
            self._remember(ref, origin, value, lifetime=3600.0)
            return value
        if challenge.scheme != "bearer":
            raise ImageError(ErrorKind.UNAUTHORIZED, f"{who} asks for unsupported auth {challenge.scheme!r}")
        realm = challenge.params.get("realm")
        if not realm:
            raise ImageError(ErrorKind.UNAUTHORIZED, f"{who} sent a Bearer challenge without a realm")
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL:
            realm_url = None
        if realm_url is None or realm_url.scheme not in DEFAULT_PORTS or not realm_url.host:
            raise ImageError(ErrorKind.UNAUTHORIZED, f"{who} names an invalid token service {realm!r}")
        if realm_url.scheme == "http" and not self._transport.trusts_plain_http(realm_url):
            raise ImageError(
                ErrorKind.INSECURE,
                f"{who} names a token service on plain HTTP ({realm}) for {what}: refused {PLAIN_HTTP_RULE}",
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
        response = self._transport.send(
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
                raise ImageError(
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
            raise ImageError(
                ErrorKind.UNAUTHORIZED,
                f"token service {realm} refused {sent} for {image.text} (HTTP {response.status})",
            )
        raise_for_status(image, response, token_what)
        answer = parse_json_object(response.body, f"token response from {realm}")
        token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise ImageError(ErrorKind.MALFORMED, f"token response from {realm} has no token")
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
