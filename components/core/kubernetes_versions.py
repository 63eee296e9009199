"""Kubernetes minor versions EKS supports, and how long (EKS release calendar).

EKS gives a minor version 14 months of standard support and then 12 of extended support, which is
billed extra per cluster hour. Armful defaults to a version in standard support, accepts one in
extended support only when the user says so, and rejects anything else. The table is EKS's published
calendar as of 2026-04 (1.35 the newest then); add a version here when EKS releases it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class EksVersion:
    version: str
    standard_support_ends: dt.date
    extended_support_ends: dt.date


EKS_VERSIONS: tuple[EksVersion, ...] = (
    EksVersion("1.32", dt.date(2026, 3, 23), dt.date(2027, 3, 23)),
    EksVersion("1.33", dt.date(2026, 7, 29), dt.date(2027, 7, 29)),
    EksVersion("1.34", dt.date(2026, 12, 2), dt.date(2027, 12, 2)),
    EksVersion("1.35", dt.date(2027, 3, 27), dt.date(2028, 3, 27)),
)

DEFAULT_KUBERNETES_VERSION = "1.35"


class SupportLevel:
    STANDARD = "standard"
    EXTENDED = "extended"
    ENDED = "ended"
    UNKNOWN = "unknown"


def today() -> dt.date:
    """The date support is judged on; tests pin it so the suite does not rot as EKS's calendar moves."""
    return dt.date.today()


def _minor(version: str) -> tuple[int, int] | None:
    major, dot, minor = version.partition(".")
    if dot and major.isdigit() and minor.isdigit() and major.isascii() and minor.isascii():
        return int(major), int(minor)
    return None


def version_form_problem(version: str) -> tuple[str, str] | None:
    """(problem, fix) for text that is not a Kubernetes minor version such as 1.35, or None."""
    if _minor(version) is not None:
        return None
    example = EKS_VERSIONS[-1].version
    text = version.strip()
    if text.lower().startswith("v") and _minor(text[1:]) is not None:
        return f"kubernetesVersion {version!r} starts with 'v'", f'write it without the v: "{text[1:]}"'
    parts = text.split(".")
    if len(parts) == 3 and _minor(".".join(parts[:2])) is not None and parts[2].isdigit():
        minor = ".".join(parts[:2])
        return (
            f"kubernetesVersion {version!r} names a patch release; EKS takes the minor version and applies "
            "patches itself",
            f'write "{minor}"',
        )
    return f"kubernetesVersion {version!r} is not a Kubernetes minor version", f'write it like "{example}"'


def support_level(version: str, on: dt.date | None = None) -> str:
    day = on or today()
    for known in EKS_VERSIONS:
        if known.version == version:
            if day <= known.standard_support_ends:
                return SupportLevel.STANDARD
            if day <= known.extended_support_ends:
                return SupportLevel.EXTENDED
            return SupportLevel.ENDED
    # The table starts where EKS's support still did: anything older has ended, whatever it was.
    oldest = _minor(EKS_VERSIONS[0].version)
    given = _minor(version)
    if given is not None and oldest is not None and given < oldest:
        return SupportLevel.ENDED
    return SupportLevel.UNKNOWN


def standard_versions(on: dt.date | None = None) -> list[str]:
    return [v.version for v in EKS_VERSIONS if support_level(v.version, on) == SupportLevel.STANDARD]
