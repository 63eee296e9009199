"""Walking an image's manifests to the platforms it runs on: index / manifest list, single manifest and
its config blob, schema 1.

Attestation entries (BuildKit provenance and SBOMs) and artifacts are skipped: they describe an image
and run nowhere. Every body is checked before it is believed: against the digest it was asked for, and
against the digest the registry states for it (``Docker-Content-Digest``).

An index is a list a registry (or whoever pushed to it) writes, so reading one is bounded: children are
read once each however often they are listed, a platform is checked through the first entry for it
(the one a node pulls), and an index that would need more than ``MAX_CHILD_READS`` reads is not read
at all: its platforms are unknown, at the cost of one request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
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
_MANIFEST_TYPES = _INDEX_TYPES | _IMAGE_MANIFEST_TYPES | _SCHEMA1_TYPES
ATTESTATION_ANNOTATION = "vnd.docker.reference.type"
ATTESTATION_VALUE = "attestation-manifest"
DIGEST_HEADER = "docker-content-digest"

# distribution refuses manifests over 4 MiB; anything bigger is not a manifest we should parse.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024
# Nested indexes exist (an index of per-OS indexes) but deeper nesting is a loop or an attack.
MAX_INDEX_DEPTH = 3
# Child manifests read (HEAD or GET) for one image. Published multi-platform images have about a dozen
# distinct platforms at most (golang: ten Linux ones and Windows), one read each; a bound several times
# that keeps a hostile index to a handful of requests instead of thousands.
MAX_CHILD_READS = 32
# The OCI digest grammar: algorithm, a colon, encoded hash. A digest read from an index goes into a URL.
_DIGEST_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_VERIFIABLE = {"sha256": 64, "sha512": 128}
_STATED = " (its Docker-Content-Digest header)"


def _verify_digest(body: bytes, digest: str, what: str, served_by: str, *, claim: str = "") -> None:
    """Raise unless ``body`` hashes to ``digest``: whatever is fetched by digest must be that object."""
    algorithm, _, encoded = digest.partition(":")
    if algorithm not in _VERIFIABLE or len(encoded) != _VERIFIABLE[algorithm]:
        raise ImageError(ErrorKind.UNSUPPORTED, f"cannot verify {what}: unsupported digest {digest!r}{claim}")
    computed = hashlib.new(algorithm, body).hexdigest()
    if computed != encoded.lower():
        raise ImageError(
            ErrorKind.DIGEST_MISMATCH,
            f"digest mismatch: {what} served by {served_by} hashes to {algorithm}:{computed}, not "
            f"{digest}{claim}",
        )


def _check_body(
    image: ImageRead, response: Response, what: str, requested: str | None, *, manifest: bool = True
) -> None:
    """The body must be what it was asked for by (``requested``) and what the registry says it is."""
    served_by = _served_by(image, response)
    content = _digested_bytes(response.body) if manifest else response.body
    if requested:
        _verify_digest(content, requested, what, served_by)
    stated = _stated_digest(response)
    if stated:
        _verify_digest(content, stated, what, served_by, claim=_STATED)


def _stated_digest(response: Response) -> str:
    return str(response.headers.get(DIGEST_HEADER, "")).strip()


def _digested_bytes(body: bytes) -> bytes:
    """What a manifest's digest is taken over: the body, except for a signed schema-1 manifest.

    Such a manifest (libtrust's "pretty" JWS) carries its signatures inside the JSON, and its digest is
    that of the payload without them; every signature's protected header records how to cut them out:
    the first ``formatLength`` bytes of the body, then ``formatTail``.
    """
    if b'"signatures"' not in body:
        return body
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    signatures = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(signatures, list) or not signatures or document.get("schemaVersion") != 1:
        return body
    cut = _format_of(signatures[0])
    if cut is None or any(_format_of(signature) != cut for signature in signatures[1:]):
        raise ImageError(
            ErrorKind.MALFORMED, "malformed schema 1 manifest: its signatures disagree on the payload"
        )
    length, tail = cut
    return body[:length] + tail


def _format_of(signature: Any) -> tuple[int, bytes] | None:
    try:
        protected = json.loads(_unpadded_b64(signature["protected"]))
        length, tail = protected["formatLength"], _unpadded_b64(protected["formatTail"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    return (length, tail) if isinstance(length, int) and length >= 0 else None


def _unpadded_b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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


def _may_run(entry: dict[str, Any]) -> bool:
    """Whether an entry without a platform could be an image: an artifact (OCI ``artifactType``, or a
    media type that is no manifest, such as a signature or an SBOM) runs nowhere and is not read."""
    if entry.get("artifactType") is not None:
        return False
    media_type = entry.get("mediaType")
    return media_type is None or media_type in _MANIFEST_TYPES


def _spend(walk: _Walk, reads: int, what: str) -> None:
    """Count ``reads`` against the image's bound before any is made, so an index over it costs nothing
    more than itself."""
    if walk.reads + reads > MAX_CHILD_READS:
        raise ImageError(
            ErrorKind.TOO_MANY_CHILDREN,
            f"{what} needs {walk.reads + reads} distinct child manifests read; Armful reads at most "
            f"{MAX_CHILD_READS} for one image, so its platforms are left unknown rather than paid for "
            "with a request per entry",
        )
    walk.reads += reads


@dataclass
class _Walk:
    """What reading one image has done so far, across nested indexes: children read by GET (their
    platforms are counted), children known to exist (a GET or a HEAD), config blobs read (a config
    costs at most one read per child read), and child reads spent."""

    fetched: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)
    configs: dict[str, set[str]] = field(default_factory=dict)
    reads: int = 0


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
        _check_body(image, response, what, ref.digest)
        # Checked above: the stated digest is the body's; the body hash is the fallback the spec defines.
        digest = (
            ref.digest or _stated_digest(response) or "sha256:" + hashlib.sha256(response.body).hexdigest()
        )
        document = parse_json_object(response.body, what)
        platforms = self._platforms_of_document(
            image, document, _media_type(response), what=what, depth=0, walk=_Walk()
        )
        if not platforms:
            raise ImageError(
                ErrorKind.NO_PLATFORMS, f"no platform listed for {image.text} ({_describe(document)})"
            )
        return digest, platforms

    def _platforms_of_document(
        self,
        image: ImageRead,
        document: dict[str, Any],
        content_type: str,
        *,
        what: str,
        depth: int,
        walk: _Walk,
    ) -> set[str]:
        media_type = document.get("mediaType") if isinstance(document.get("mediaType"), str) else content_type
        if media_type in _INDEX_TYPES or (
            media_type not in _IMAGE_MANIFEST_TYPES and "manifests" in document
        ):
            return self._platforms_of_index(image, document, what=what, depth=depth, walk=walk)
        if media_type in _SCHEMA1_TYPES or document.get("schemaVersion") == 1:
            # Schema 1 carries its architecture inline and predates multi-OS images.
            arch = document.get("architecture")
            return {f"linux/{arch}"} if isinstance(arch, str) and arch else set()
        if media_type in _IMAGE_MANIFEST_TYPES or "config" in document:
            return self._platform_of_config(image, document, what=what, walk=walk)
        raise ImageError(ErrorKind.UNSUPPORTED, f"{what} has unsupported media type {media_type or 'none'!r}")

    def _platforms_of_index(
        self, image: ImageRead, index: dict[str, Any], *, what: str, depth: int, walk: _Walk
    ) -> set[str]:
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: 'manifests' is not a list")
        found: set[str] = set()
        first_of_platform: dict[tuple[str, ...], tuple[str, str]] = {}  # exact platform -> (digest, label)
        unplatformed: dict[str, None] = {}  # children that must be read to learn their platforms, in order
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
                found.add(label)
                # A node pulls the first entry matching its platform: that is the one to check exists.
                exact = (
                    os_name,
                    arch,
                    str(platform.get("variant") or ""),
                    str(platform.get("os.version") or ""),
                )
                first_of_platform.setdefault(exact, (child, label))
            elif _may_run(entry):
                unplatformed.setdefault(child)  # no platform (a nested index): the child itself must say
        if unplatformed and depth + 1 >= MAX_INDEX_DEPTH:
            raise ImageError(ErrorKind.MALFORMED, f"{what}: indexes nested deeper than {MAX_INDEX_DEPTH}")
        to_fetch = [child for child in unplatformed if child not in walk.fetched]
        to_check: dict[str, str] = {}
        if self._verify_children:
            to_check = {
                child: label
                for child, label in first_of_platform.values()
                if child not in walk.present and child not in unplatformed
            }
        _spend(walk, len(to_fetch) + len(to_check), what)
        for child in to_fetch:
            found |= self._read_child(image, child, depth=depth, walk=walk)
        for child, label in to_check.items():
            self._require_child(image, child, label)
            walk.present.add(child)
        return found

    def _read_child(self, image: ImageRead, child: str, *, depth: int, walk: _Walk) -> set[str]:
        child_what = f"index child {child} of {image.text}"
        response = self._get_manifest(image, child, what=child_what, child=True)
        _check_body(image, response, child_what, child)
        walk.fetched.add(child)
        walk.present.add(child)
        document = parse_json_object(response.body, child_what)
        return self._platforms_of_document(
            image, document, _media_type(response), what=child_what, depth=depth + 1, walk=walk
        )

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
            _check_body(image, response, what, digest)
            return
        stated = _stated_digest(response)
        # No body to hash: the registry must at least not say it holds something else under that name.
        if (
            stated
            and stated.partition(":")[0] == digest.partition(":")[0]
            and stated.lower() != digest.lower()
        ):
            raise ImageError(
                ErrorKind.DIGEST_MISMATCH,
                f"digest mismatch: {what} served by {_served_by(image, response)} is {stated}{_STATED}, "
                f"not {digest}",
            )

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

    def _platform_of_config(
        self, image: ImageRead, manifest: dict[str, Any], *, what: str, walk: _Walk
    ) -> set[str]:
        config = manifest.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: no config descriptor")
        digest = config["digest"]
        if not _DIGEST_GRAMMAR.fullmatch(digest):
            raise ImageError(ErrorKind.MALFORMED, f"malformed {what}: invalid config digest {digest!r}")
        if digest in walk.configs:  # children of one index often share a config
            return walk.configs[digest]
        config_what = f"config blob {digest} of {image.text}"
        url = f"{image.base_url}/v2/{image.ref.repository}/blobs/{digest}"
        response = self._auth.fetch(image, "GET", url, what=config_what, accept="*/*", limit=MAX_CONFIG_BYTES)
        if response.status == 404:
            raise ImageError(
                ErrorKind.MISSING_CHILD, f"config blob {digest} of {image.text} missing from {image.where}"
            )
        raise_for_status(image, response, config_what)
        _check_body(image, response, config_what, digest, manifest=False)
        blob = parse_json_object(response.body, config_what)
        os_name, arch = blob.get("os"), blob.get("architecture")
        # Helm charts, signatures and other artifacts have configs without a platform: not images.
        platform = (
            {f"{os_name}/{arch}"}
            if isinstance(os_name, str) and isinstance(arch, str) and os_name and arch
            else set()
        )
        walk.configs[digest] = platform
        return platform
