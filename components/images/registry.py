"""Read which platforms an image is published for, straight from its registry (OCI distribution API).

One ``GET /v2/<name>/manifests/<ref>`` answers most images: an index (OCI) or manifest list (Docker)
names a platform per entry. A single-platform manifest does not, so its config blob is read for
``os``/``architecture``. For every platform an index lists, the entry a node would pull (the first for
that platform) is also checked to exist (a ``HEAD``, free of Docker Hub's pull quota): a platform the
registry cannot serve is not a platform a node can run. Each child is read at most once, and an index
needing more than ``MAX_CHILD_READS`` reads is answered "unknown" without reading any.

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
  with its digest, and every body with the digest the registry states for it (``Docker-Content-Digest``);
  a mismatch fails the image, so nothing unverified is cached.

This module runs the images of a call in parallel and keeps each failure to its own image; the work per
image is split by concern: ``registry_transport`` (HTTP, retries, redirects, plain-HTTP rules),
``registry_auth`` (challenges, credentials, tokens) and ``image_manifests`` (indexes, manifests, configs).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Self

import httpx

from armful.images.credentials import DockerCredentials
from armful.images.image_manifests import ManifestReader
from armful.images.image_platforms import NETWORK_ERROR_KINDS, ErrorKind, ImageError, ImagePlatforms
from armful.images.reference import InvalidReferenceError, parse_reference
from armful.images.registry_auth import RegistryAuth
from armful.images.registry_transport import (
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF,
    DEFAULT_BODY_DEADLINE,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_READ_TIMEOUT,
    CallState,
    ImageRead,
    RegistryTransport,
    base_url_for,
)

# Callers of RegistryClient get its results' types from here, wherever they are defined.
__all__ = ["DEFAULT_PARALLELISM", "NETWORK_ERROR_KINDS", "ErrorKind", "ImagePlatforms", "RegistryClient"]

DEFAULT_PARALLELISM = 8
# Unexpected exceptions become per-image errors; their tracebacks go here for whoever debugs them.
logger = logging.getLogger(__name__)


def _failed(image: str, kind: ErrorKind, message: str) -> ImagePlatforms:
    return ImagePlatforms(image=image, digest=None, platforms=(), error=message, error_kind=kind)


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
    ) -> None:
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        self.parallelism = parallelism
        self._transport = RegistryTransport(
            parallelism=parallelism,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            attempts=attempts,
            backoff=backoff,
            max_retry_after=max_retry_after,
            body_deadline=body_deadline,
            insecure_registries=insecure_registries,
            verify=verify,
            http_transport=transport,
        )
        self._auth = RegistryAuth(
            self._transport, credentials if credentials is not None else DockerCredentials()
        )
        self._manifests = ManifestReader(self._auth, verify_children=verify_children)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def platforms_of(
        self, refs: Sequence[str], *, on_progress: Callable[[int, int, str], None] | None = None
    ) -> list[ImagePlatforms]:
        """One result per reference, in the order given; never raises for a single image.

        ``on_progress(done, total, reference)`` is called from the calling thread, once at the start (with
        no reference) and after each distinct reference finishes, so a terminal progress line needs no
        locking.
        """
        if isinstance(refs, str):  # a lone string would be read as one image per character
            raise TypeError("platforms_of takes a sequence of references, not a string")
        unique = list(dict.fromkeys(refs))
        total = len(unique)
        if on_progress:
            on_progress(0, total, "")
        results: dict[str, ImagePlatforms] = {}
        if unique:
            call = CallState()
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
                        on_progress(done, total, image)
        return [results[image] for image in refs]

    def platforms_of_one(self, ref: str) -> ImagePlatforms:
        return self.platforms_of([ref])[0]

    def _read_image(self, text: str, call: CallState) -> ImagePlatforms:
        try:
            ref = parse_reference(text)
        except InvalidReferenceError as exc:
            return _failed(text, ErrorKind.INVALID_REFERENCE, f"invalid image reference {text!r}: {exc}")
        image = ImageRead(
            text=text,
            ref=ref,
            base_url=base_url_for(ref.registry, self._transport.insecure_registries),
            call=call,
        )
        image.authorizations = self._auth.cached_authorizations(ref)
        try:
            digest, platforms = self._manifests.read_platforms(image)
        except ImageError as exc:
            return _failed(text, exc.kind, exc.message)
        except Exception as exc:  # e.g. an unexpected document shape: still only this image fails
            logger.debug("reading %s failed unexpectedly", text, exc_info=True)
            return _failed(
                text, ErrorKind.INTERNAL, f"unexpected error reading {text}: {type(exc).__name__}: {exc}"
            )
        return ImagePlatforms(image=text, digest=digest, platforms=tuple(platforms), error=None)
