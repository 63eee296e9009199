"""Walking an image's manifests to the platforms it runs on: index / manifest list, single manifest and
its config blob, schema 1.

Attestation entries (BuildKit provenance and SBOMs) are skipped: they describe an image and run
nowhere. Everything fetched by digest is hashed and compared with that digest before it is believed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from armful.images.image_platforms import ErrorKind, ImageError
from armful.images.registry_auth import RegistryAuth
from armful.images.registry_transport import (
    ImageRead,
    Response,
    describe_host,
    netloc_of,
    parse_json_object,
    raise_for_status,
    registry_error_code,
)

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

# distribution refuses manifests over 4 MiB; anything bigger is not a manifest we should parse.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024
# Nested indexes exist (an index of per-OS indexes) but deeper nesting is a loop or an attack.
MAX_INDEX_DEPTH = 3
# The OCI digest grammar: algorithm, a colon, encoded hash. A digest read from an index goes into a URL.
_DIGEST_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_VERIFIABLE = {"sha256": 64, "sha512": 128}


def _verify_digest(body: bytes, digest: str, what: str, served_by: str) -> None:
    """Raise unless ``body`` hashes to ``digest``: whatever is fetched by digest must be that object."""
    algorithm, _, encoded = digest.partition(":")
    if algorithm not in _VERIFIABLE or len(encoded) != _VERIFIABLE[algorithm]:
        raise ImageError(ErrorKind.UNSUPPORTED, f"cannot verify {what}: unsupported digest {digest!r}")
    computed = hashlib.new(algorithm, body).hexdigest()
    if computed != encoded.lower():
        raise ImageError(
            ErrorKind.DIGEST_MISMATCH,
            f"digest mismatch: {what} served by {served_by} hashes to {algorithm}:{computed}, not {digest}",
        )


def _served_by(image: ImageRead, response: Response) -> str:
    return describe_host(netloc_of(response.url), image.ref.registry)


def _media_type(response: Response) -> str:
    return str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()


def _describe(document: dict[str, Any]) -> str:
    if isinstance(document.get("manifests"), list):
        return "its index lists only attestations or artifacts"
    config = document.get("config")
    if isinstance(config, dict) and config.get("mediaType"):
        return f"not a container image: config type {config['mediaType']}"
    return "no os/architecture in its config"


class ManifestReader:
    """Reads the platforms of one image at a time through ``auth``; holds no per-image state."""

    def __init__(self, auth: RegistryAuth, *, verify_children: bool) -> None:
        self._auth = auth
        self._verify_children = verify_children

    def read_platforms(self, image: ImageRead) -> tuple[str, set[str]]:
        """The image's digest and platforms; raises ``ImageError`` when there are none."""
        ref = image.ref
        what = f"manifest of {image.text}"
        response = self._get_manifest(image, ref.reference, what=what)
        if ref.digest:
            _verify_digest(response.body, ref.digest, what, _served_by(image, response))
        digest = response.headers.get("docker-content-digest") or ""
        computed = "sha256:" + hashlib.sha256(response.body).hexdigest()
        # The header is what the registry indexes by; the body hash is the fallback the spec defines.
        digest = ref.digest or digest or computed
        document = parse_json_object(response.body, what)
        platforms = self._platforms_of_document(image, document, _media_type(response), what=what, depth=0)
        if not platforms:
            raise ImageError(
                ErrorKind.NO_PLATFORMS, f"no platform listed for {image.text} ({_describe(document)})"
            )
        return digest, platforms

    def _platforms_of_document(
        self, image: ImageRead, document: dict[str, Any], content_type: str, *, what: str, depth: int
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
        raise ImageError(ErrorKind.UNSUPPORTED, f"{what} has unsupported media type {media_type or 'none'!r}")

    def _platforms_of_index(
        self, image: ImageRead, index: dict[str, Any], *, what: str, depth: int
    ) -> set[str]:
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: 'manifests' is not a list")
        found: set[str] = set()
        checked: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
                raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: an entry has no digest")
            child = entry["digest"]
            if not _DIGEST_GRAMMAR.fullmatch(child):
                raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: invalid digest {child!r}")
            annotations = entry.get("annotations")
            if isinstance(annotations, dict) and annotations.get(ATTESTATION_ANNOTATION) == ATTESTATION_VALUE:
                continue  # BuildKit provenance/SBOM: describes an image, runs nowhere
            platform = entry.get("platform")
            if isinstance(platform, dict):
                os_name, arch = platform.get("os"), platform.get("architecture")
                if os_name == "unknown" or arch == "unknown":
                    continue  # attestations written without the annotation (older BuildKit)
                if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
                    raise ImageError(
                        ErrorKind.MALFORMED, f"malformed {what}: entry {child} has no os/architecture"
                    )
                label = f"{os_name}/{arch}"
                if self._verify_children and child not in checked:
                    checked.add(child)
                    self._require_child(image, child, label)
                found.add(label)
                continue
            # No platform on the entry (nested index, or an artifact): the child itself must say.
            if depth + 1 >= MAX_INDEX_DEPTH:
                raise ImageError(ErrorKind.MALFORMED, f"{what}: indexes nested deeper than {MAX_INDEX_DEPTH}")
            child_what = f"index child {child} of {image.text}"
            response = self._get_manifest(image, child, what=child_what, child=True)
            _verify_digest(response.body, child, child_what, _served_by(image, response))
            document = parse_json_object(response.body, child_what)
            found |= self._platforms_of_document(
                image, document, _media_type(response), what=child_what, depth=depth + 1
            )
        return found

    def _require_child(self, image: ImageRead, digest: str, label: str) -> None:
        url = f"{image.base_url}/v2/{image.ref.repository}/manifests/{digest}"
        what = f"index child {digest} ({label}) of {image.text}"
        response = self._auth.fetch(image, "HEAD", url, what=what, accept=MANIFEST_ACCEPT, limit=0)
        fetched = response.status == 405  # a registry without HEAD support: GET says the same thing
        if fetched:
            response = self._auth.fetch(
                image, "GET", url, what=what, accept=MANIFEST_ACCEPT, limit=MAX_MANIFEST_BYTES
            )
        if response.status == 404:
            raise ImageError(
                ErrorKind.MISSING_CHILD,
                f"index child {digest} ({label}) missing from {image.where}: "
                f"the index of {image.text} lists it but the registry does not have it",
            )
        raise_for_status(image, response, what)
        if fetched:  # a body in hand is checked like any other fetched by digest
            _verify_digest(response.body, digest, what, _served_by(image, response))

    def _get_manifest(self, image: ImageRead, reference: str, *, what: str, child: bool = False) -> Response:
        url = f"{image.base_url}/v2/{image.ref.repository}/manifests/{reference}"
        response = self._auth.fetch(
            image, "GET", url, what=what, accept=MANIFEST_ACCEPT, limit=MAX_MANIFEST_BYTES
        )
        if response.status == 404:
            code = registry_error_code(response.body)
            if child:
                raise ImageError(
                    ErrorKind.MISSING_CHILD, f"index child {reference} missing from {image.where} ({what})"
                )
            if code == "NAME_UNKNOWN":
                raise ImageError(
                    ErrorKind.NOT_FOUND,
                    f"name unknown: repository {image.ref.repository} not found in {image.ref.domain}",
                )
            kind = "digest" if reference.startswith("sha") and ":" in reference else "tag"
            raise ImageError(
                ErrorKind.NOT_FOUND, f"manifest unknown: {kind} {reference} not found in {image.where}"
            )
        raise_for_status(image, response, what)
        return response

    def _platform_of_config(self, image: ImageRead, manifest: dict[str, Any], *, what: str) -> set[str]:
        config = manifest.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: no config descriptor")
        digest = config["digest"]
        if not _DIGEST_GRAMMAR.fullmatch(digest):
            raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: invalid config digest {digest!r}")
        config_what = f"config blob {digest} of {image.text}"
        url = f"{image.base_url}/v2/{image.ref.repository}/blobs/{digest}"
        response = self._auth.fetch(image, "GET", url, what=config_what, accept="*/*", limit=MAX_CONFIG_BYTES)
        if response.status == 404:
            raise ImageError(
                ErrorKind.MISSING_CHILD, f"config blob {digest} of {image.text} missing from {image.where}"
            )
        raise_for_status(image, response, config_what)
        _verify_digest(response.body, digest, config_what, _served_by(image, response))
        blob = parse_json_object(response.body, config_what)
        os_name, arch = blob.get("os"), blob.get("architecture")
        if isinstance(os_name, str) and isinstance(arch, str) and os_name and arch:
            return {f"{os_name}/{arch}"}
        # Helm charts, signatures and other artifacts have configs without a platform: not images.
        return set()
