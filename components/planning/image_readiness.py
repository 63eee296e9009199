"""Which images a stack runs, on which pools each must run, and whether its platforms allow that.

An add-on image must have the arch of every pool its workload lands on (a node agent: every pool);
a user workload's image, the arch of the pools its placement targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from armful.addons.registry import ADDONS
from armful.core.arch import Arch
from armful.core.pools import PoolPlan, PoolRole
from armful.images.image_platforms import ImagePlatforms
from armful.planning.plan import Plan


@dataclass
class ImageNeed:
    image: str
    used_by: list[str] = field(default_factory=list)
    pools: dict[str, PoolPlan] = field(default_factory=dict)


def image_needs(plan: Plan) -> list[ImageNeed]:
    """Every image the stack will run, in plan order, with who uses it and where it must run."""
    needs: dict[str, ImageNeed] = {}
    pools = {pool.name: pool for pool in plan.pools}
    # The images the final values run (overrides, sidecars and init containers included), of the Helm
    # releases' workloads that exist with those values, on every pool their pods may be scheduled on;
    # EKS pulls its add-ons' images from its own registry.
    for entry in plan.placement:
        if entry.eks_managed:
            continue
        for image in entry.images:
            need = needs.setdefault(image, ImageNeed(image))
            need.used_by.append(f"{entry.release}/{entry.workload}")
            need.pools.update({name: pools[name] for name in entry.targets})
    workers = {pool.name: pool for pool in plan.pools if pool.role is PoolRole.WORKERS}
    for workload in plan.workloads:
        for image in workload.images:
            need = needs.setdefault(image, ImageNeed(image))
            need.used_by.append(f"workload/{workload.name}")
            need.pools.update({name: pools[name] for name in workload.pools} if workload.pools else workers)
    return list(needs.values())


@dataclass(frozen=True)
class ImageVerdict:
    need: ImageNeed
    result: ImagePlatforms

    @property
    def per_pool(self) -> dict[str, bool | None]:
        """For each pool the image must run on: True, False, or None when the image was not read."""
        return {name: self.result.has_arch(pool.arch) for name, pool in self.need.pools.items()}

    @property
    def ok(self) -> bool:
        """Read, and built for every pool the image must run on. An image that was not read is never ok,
        not even one needed on no pool (a workload that lands nowhere): nothing about it is known."""
        return self.result.error is None and all(value is True for value in self.per_pool.values())

    def to_json(self) -> dict[str, Any]:
        return {**self.result.to_json(), "used_by": self.need.used_by, "pools": self.per_pool, "ok": self.ok}


def stack_verdicts(needs: Sequence[ImageNeed], results: Sequence[ImagePlatforms]) -> list[ImageVerdict]:
    return [ImageVerdict(need, result) for need, result in zip(needs, results, strict=True)]


@dataclass(frozen=True)
class DeclarationMismatch:
    """An add-on module declares arches for a pinned image that its registry does not publish."""

    release: str
    image: str
    declared: frozenset[Arch]
    published: frozenset[Arch] | None
    error: str | None

    def __str__(self) -> str:
        if self.published is None:
            return f"{self.release}: {self.image} could not be read: {self.error}"
        declared = ", ".join(sorted(a.value for a in self.declared))
        published = ", ".join(sorted(a.value for a in self.published)) or "neither amd64 nor arm64"
        return f"{self.release}: {self.image} is declared {declared} but publishes {published}"


def addon_images() -> list[tuple[str, str, frozenset[Arch]]]:
    """(release, image, declared arches) for every workload image of every add-on, each once: at the
    chart's (or Armful's) defaults, optional sidecars and init containers included."""
    seen: dict[str, tuple[str, str, frozenset[Arch]]] = {}
    for spec in ADDONS:
        for workload in spec.workloads:
            for image in workload.images:
                seen.setdefault(image.ref, (spec.release, image.ref, image.arches))
    return list(seen.values())


def declaration_mismatches(results: Sequence[ImagePlatforms]) -> list[DeclarationMismatch]:
    """For maintainers bumping a chart: add-on modules' declared arches against what is published."""
    declared = {image: (release, arches) for release, image, arches in addon_images()}
    mismatches = []
    for result in results:
        release, arches = declared[result.image]
        if result.error is not None:
            mismatches.append(DeclarationMismatch(release, result.image, arches, None, result.error))
            continue
        published = frozenset(arch for arch in Arch if result.has_arch(arch))
        if published != arches:
            mismatches.append(DeclarationMismatch(release, result.image, arches, published, None))
    return mismatches
