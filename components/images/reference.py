"""Image references as Docker spells them, resolved to the registry host and repository to ask.

The rules follow ``distribution/reference`` (what ``docker pull`` accepts) so that a reference taken
from a chart's values means the same image here as on a node: the first path component is a registry
only if it looks like a host (has a ``.`` or ``:``, or is ``localhost``); everything else is Docker Hub,
where a one-component name lives under ``library/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
# Docker Hub's API is not served at its familiar name; ``docker.io/v2/`` does not exist.
DOCKER_HUB_API = "registry-1.docker.io"
DEFAULT_TAG = "latest"

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_SHA256_RE = re.compile(r"sha256:[0-9a-f]{64}")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
_ECR_PRIVATE_RE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
)
_MAX_NAME_LENGTH = 255


class InvalidReferenceError(ValueError):
    """The text is not an image reference ``docker pull`` would accept."""


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference.

    ``domain`` keeps Docker's familiar name (``docker.io``) because credential stores and users key
    on it; ``registry`` is the host the API is actually served from.
    """

    original: str
    domain: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def registry(self) -> str:
        """Host (and port) serving ``/v2/`` for this image."""
        return DOCKER_HUB_API if self.domain == DOCKER_HUB else self.domain

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: a digest wins over a tag, as it does for ``docker pull``."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def name(self) -> str:
        """``domain/repository``, the form users recognise in messages."""
        return f"{self.domain}/{self.repository}"

    @property
    def is_ecr_private(self) -> bool:
        """True for ``<account>.dkr.ecr.<region>.amazonaws.com``: pulls there always need credentials."""
        return _ECR_PRIVATE_RE.fullmatch(self.domain) is not None

    @property
    def ecr_region(self) -> str | None:
        match = _ECR_PRIVATE_RE.fullmatch(self.domain)
        return match.group("region") if match else None

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    # Same test as distribution's splitDockerDomain: an uppercase first component is a host too,
    # which then fails the repository check instead of silently meaning a Hub user.
    if sep and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, name
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = f"library/{remainder}"
    return domain, remainder


def parse_reference(text: str) -> ImageReference:
    """Parse ``text`` as ``docker pull`` would; raise :class:`InvalidReferenceError` otherwise."""
    raw = text.strip()
    if not raw:
        raise InvalidReferenceError("empty image reference")
    if any(ch.isspace() for ch in raw):
        raise InvalidReferenceError("whitespace inside an image reference")

    name_and_tag, at, digest = raw.partition("@")
    if at:
        if not _DIGEST_RE.fullmatch(digest):
            raise InvalidReferenceError(f"invalid digest {digest!r}")
        if digest.startswith("sha256:") and not _SHA256_RE.fullmatch(digest):
            raise InvalidReferenceError(f"invalid sha256 digest {digest!r}: want 64 lowercase hex digits")
    else:
        digest = ""

    # A ':' after the last '/' is a tag; one before it belongs to a host:port.
    tag = ""
    colon = name_and_tag.rfind(":")
    if colon > name_and_tag.rfind("/"):
        name_and_tag, tag = name_and_tag[:colon], name_and_tag[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReferenceError(f"invalid tag {tag!r}")

    if not name_and_tag:
        raise InvalidReferenceError("missing repository name")
    domain, repository = _split_domain(name_and_tag)
    if domain != DOCKER_HUB and not _DOMAIN_RE.fullmatch(domain):
        raise InvalidReferenceError(f"invalid registry host {domain!r}")
    if not _PATH_RE.fullmatch(repository):
        if repository.lower() != repository:
            raise InvalidReferenceError(f"repository name {repository!r} must be lowercase")
        raise InvalidReferenceError(f"invalid repository name {repository!r}")
    if len(f"{domain}/{repository}") > _MAX_NAME_LENGTH:
        raise InvalidReferenceError(f"repository name longer than {_MAX_NAME_LENGTH} characters")

    return ImageReference(
        original=text,
        domain=domain,
        repository=repository,
        tag=tag or (None if digest else DEFAULT_TAG),
        digest=digest or None,
    )
