"""What an application needs to land on a pool, and where the user's own workloads will land.

An app reaches a worker pool with a nodeSelector and a toleration of each of that pool's taints; in
``mixed``, an app with only builds for the non-preferred arch opts in by arch rather than by pool, so it
can use any pool of that arch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.core.arch import Arch
from components.core.config import StackConfig, WorkloadConfig
from components.core.findings import Finding, FindingLevel
from components.core.pools import ARCH_LABEL, POOL_LABEL, PoolPlan, PoolRole
from components.core.topology import Topology
from components.placement.rules import tolerations_for
from components.placement.scheduler import NodeProfile, evaluate

USER_WORKLOADS = "user-workloads"


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


def arch_placement(pools: Sequence[PoolPlan], arch: Arch) -> AppPlacement:
    """Land on any worker pool of this arch (the way ``mixed`` apps opt in to the other arch)."""
    taints = [
        taint
        for pool in pools
        if pool.role is PoolRole.WORKERS and pool.arch is arch
        for taint in pool.taints
    ]
    return AppPlacement({ARCH_LABEL: arch.value}, tolerations_for(taints))


@dataclass(frozen=True)
class WorkloadPlacement:
    name: str
    images: tuple[str, ...]
    arches: frozenset[Arch] | None
    pools: tuple[str, ...]
    placement: AppPlacement | None

    def to_json(self) -> dict[str, Any]:
        return {
            "release": USER_WORKLOADS,
            "workload": self.name,
            "kind": "Workload",
            "pools": list(self.pools),
        }


def place_user_workloads(
    config: StackConfig, pools: Sequence[PoolPlan], image_arches: dict[str, frozenset[Arch]] | None = None
) -> tuple[list[WorkloadPlacement], list[Finding]]:
    """Where each workload from stack config lands, with the values it needs, and what stops it."""
    placements, findings = [], []
    for workload in config.workloads:
        arches = workload_arches(workload, image_arches or {})
        placement, finding = _choose(config, pools, workload, arches)
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
    workload: WorkloadConfig, image_arches: dict[str, frozenset[Arch]]
) -> frozenset[Arch] | None:
    """The arches every image of the workload has: read from registries when known, else as declared."""
    read = [image_arches[image] for image in workload.images if image in image_arches]
    if len(read) == len(workload.images):
        return frozenset.intersection(*read) if read else frozenset()
    if workload.arches:
        return frozenset(workload.arches)
    return None


def _choose(
    config: StackConfig, pools: Sequence[PoolPlan], workload: WorkloadConfig, arches: frozenset[Arch] | None
) -> tuple[AppPlacement | None, Finding | None]:
    workers = [pool for pool in pools if pool.role is PoolRole.WORKERS]
    worker_arches = {pool.arch for pool in workers}
    preferred = config.effective_preferred_arch if config.topology is Topology.MIXED else Arch.ARM64
    if arches is None:
        return arch_placement(pools, preferred), Finding(
            FindingLevel.WARNING,
            "arch-unknown",
            f"workload {workload.name}: the arches of {', '.join(workload.images)} are unknown; Armful assumes "
            f"{preferred.value}. Run `python -m components readiness --stack {'<stack>'}` or declare arches",
        )
    if preferred in arches:
        return arch_placement(pools, preferred), None
    usable = sorted(arches & worker_arches)
    if config.topology is Topology.MIXED and usable:
        other = Arch(usable[0])
        return arch_placement(pools, other), Finding(
            FindingLevel.WARNING,
            "other-arch",
            f"workload {workload.name} has no {preferred.value} build ({', '.join(workload.images)}): it will run "
            f"on the {other.value} pools; give it the nodeSelector and tolerations shown for it",
        )
    missing = ", ".join(workload.images)
    return None, Finding(
        FindingLevel.ERROR,
        "wrong-arch",
        f"workload {workload.name}: {missing} has no {'/'.join(sorted(a.value for a in worker_arches))} build, "
        f"and topology {config.topology.value} has no worker pool it can run on "
        f"(its images have {', '.join(sorted(a.value for a in arches)) or 'no known arch'}); "
        "publish an arm64 build, or choose the mixed topology with an x86 pool",
    )
