"""What an application needs to land on a pool, and where the user's own workloads will land.

An app reaches a worker pool with a nodeSelector and a toleration of each of that pool's taints; in
``mixed``, an app with only builds for the non-preferred arch opts in by arch rather than by pool, so it
can use any pool of that arch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from armful.core.arch import Arch
from armful.core.config import WorkloadConfig
from armful.core.findings import Finding, FindingLevel
from armful.core.pool_planner import is_armful_taint
from armful.core.pools import ARCH_LABEL, POOL_LABEL, PoolPlan, PoolRole
from armful.core.topology import Topology
from armful.placement.rules import tolerations_for
from armful.placement.scheduler import NodeProfile, evaluate


@dataclass(frozen=True)
class AppPlacement:
    """The scheduling values a Deployment needs, ready to paste into its pod template."""

    node_selector: dict[str, str]
    tolerations: list[dict[str, str]]

    def pod_spec(self, images: Sequence[str]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
        }
        if self.node_selector:
            spec["nodeSelector"] = self.node_selector
        if self.tolerations:
            spec["tolerations"] = self.tolerations
        return spec

    def to_json(self) -> dict[str, Any]:
        return {"nodeSelector": self.node_selector, "tolerations": self.tolerations}


def pool_placement(pool: PoolPlan) -> AppPlacement:
    """Land on exactly this pool."""
    return AppPlacement({POOL_LABEL: pool.name}, tolerations_for(pool.taints))


def general_pools(pools: Sequence[PoolPlan], arch: Arch) -> list[PoolPlan]:
    """Worker pools of this arch that any app may use: none of their taints is the user's own.

    A pool the user tainted (spot, dedicated to a team) stays opt-in; Armful's own arch taint in
    ``mixed`` only asks apps to say which arch they need.
    """
    return [
        pool
        for pool in pools
        if pool.role is PoolRole.WORKERS
        and pool.arch is arch
        and all(is_armful_taint(t) for t in pool.taints)
    ]


def arch_placement(pools: Sequence[PoolPlan], arch: Arch) -> AppPlacement | None:
    """Land on any general pool of this arch (the way ``mixed`` apps opt in to the other arch)."""
    general = general_pools(pools, arch)
    if not general:
        return None
    return AppPlacement({ARCH_LABEL: arch.value}, tolerations_for(t for pool in general for t in pool.taints))


@dataclass(frozen=True)
class WorkloadPlacement:
    name: str
    images: tuple[str, ...]
    arches: frozenset[Arch] | None
    pools: tuple[str, ...]
    placement: AppPlacement | None

    def to_json(self) -> dict[str, Any]:
        """An entry of the plan's ``workloads``: where it lands and the values that get it there."""
        return {
            "name": self.name,
            "images": list(self.images),
            "arches": sorted(arch.value for arch in self.arches) if self.arches is not None else None,
            "pools": list(self.pools),
            **(
                self.placement.to_json()
                if self.placement is not None
                else {"nodeSelector": None, "tolerations": None}
            ),
        }


def place_user_workloads(
    workloads: Sequence[WorkloadConfig],
    topology: Topology,
    preferred_arch: Arch | None,
    pools: Sequence[PoolPlan],
    image_arches: Mapping[str, frozenset[Arch]] | None = None,
    stack: str = "<stack>",
) -> tuple[list[WorkloadPlacement], list[Finding]]:
    """Where each of the user's workloads lands, with the values it needs, and what stops it."""
    placements, findings = [], []
    for workload in workloads:
        arches = workload_arches(workload, image_arches or {})
        placement, finding = _choose(topology, preferred_arch, pools, workload, arches, stack)
        landing = ()
        if placement is not None:
            nodes = [NodeProfile.of_pool(pool) for pool in pools]
            known = {image: arches for image in workload.images} if arches is not None else None
            landing = tuple(
                v.pool
                for v in (evaluate(placement.pod_spec(workload.images), n, known) for n in nodes)
                if v.runs
            )
        placements.append(
            WorkloadPlacement(workload.name, tuple(workload.images), arches, landing, placement)
        )
        if finding is not None:
            findings.append(finding)
    return placements, findings


def workload_arches(
    workload: WorkloadConfig, image_arches: Mapping[str, frozenset[Arch]]
) -> frozenset[Arch] | None:
    """The arches every image of the workload has: as read from registries, the declared arches
    standing in for images not read; None when neither says."""
    read = [image_arches[image] for image in workload.images if image in image_arches]
    if len(read) < len(workload.images):
        if not workload.arches:
            return None
        read.append(frozenset(workload.arches))
    return frozenset.intersection(*read)


def _choose(
    topology: Topology,
    preferred_arch: Arch | None,
    pools: Sequence[PoolPlan],
    workload: WorkloadConfig,
    arches: frozenset[Arch] | None,
    stack: str,
) -> tuple[AppPlacement | None, Finding | None]:
    worker_arches = {pool.arch for pool in pools if pool.role is PoolRole.WORKERS}
    preferred = topology.app_arch(preferred_arch)
    subject = f"workload {workload.name} ({', '.join(workload.images)})"
    if arches is None:
        target, note = (
            preferred,
            Finding(
                FindingLevel.WARNING,
                "arch-unknown",
                f"{subject}: the arches of its images are unknown; Armful assumes {preferred.value}. "
                f"Fix: run `python -m armful readiness --stack {stack}`, or declare its arches",
            ),
        )
    elif preferred in arches:
        target, note = preferred, None
    elif topology.has_preferred_arch and arches & worker_arches:
        target = next(iter(sorted(arches & worker_arches)))
        note = Finding(
            FindingLevel.WARNING,
            "other-arch",
            f"{subject} has no {preferred.value} build: it will run on the {target.value} pools. "
            "Fix: give it the nodeSelector and tolerations plan shows for it",
        )
    else:
        return None, Finding(
            FindingLevel.ERROR,
            "wrong-arch",
            f"{subject} has no {'/'.join(sorted(a.value for a in worker_arches))} build, and topology "
            f"{topology.value} has no worker pool it can run on (its images have "
            f"{', '.join(sorted(a.value for a in arches)) or 'no known arch'}). Fix: publish an arm64 build, "
            "or choose the mixed topology with an x86 pool",
        )
    placement = arch_placement(pools, target)
    if placement is not None:
        return placement, note
    tainted = next(pool for pool in pools if pool.role is PoolRole.WORKERS and pool.arch is target)
    return pool_placement(tainted), note or Finding(
        FindingLevel.WARNING,
        "opt-in-pool",
        f"{subject}: every {target.value} worker pool carries a taint of yours, so it can only run where "
        f"it opts in; plan shows the values for pool {tainted.name}",
    )
