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


def support_level(version: str, on: dt.date | None = None) -> str:
    day = on or today()
    for known in EKS_VERSIONS:
        if known.version == version:
            if day <= known.standard_support_ends:
                return SupportLevel.STANDARD
            if day <= known.extended_support_ends:
                return SupportLevel.EXTENDED
            return SupportLevel.ENDED
    return SupportLevel.UNKNOWN


def standard_versions(on: dt.date | None = None) -> list[str]:
    return [v.version for v in EKS_VERSIONS if support_level(v.version, on) == SupportLevel.STANDARD]
