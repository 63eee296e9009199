"""One judgement of where a pod can run, for declared workloads and rendered pod templates alike.

Given the scheduler model's verdict on every pool, in this order (design §5):
1. ``wrong-arch``: a pool takes the pod but lacks a build of one of its images (exec format error);
2. ``stranded``: no pool both takes the pod and has its images;
3. ``coverage-gap``: a node agent (DaemonSet) misses a pool;
4. ``off-system``: a controller may land on a worker pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from armful.core.arch import Arch
from armful.core.findings import Finding, FindingLevel
from armful.core.pools import PoolPlan, PoolRole
from armful.placement.scheduler import Verdict


def judge(
    subject: str,
    *,
    node_agent: bool,
    pools: Sequence[PoolPlan],
    verdicts: Sequence[Verdict],
    image_arches: Mapping[str, frozenset[Arch]],
    topology: str | None = None,
    level: FindingLevel = FindingLevel.ERROR,
    stranded_consequence: str = "",
) -> list[Finding]:
    in_topology = f" in topology {topology}" if topology else ""
    of_topology = f" of topology {topology}" if topology else ""
    landing = [verdict.pool for verdict in verdicts if verdict.runs]
    cluster_arches = {pool.arch.value for pool in pools}
    lacking = ", ".join(
        f"{image} (no {'/'.join(sorted(missing))} build)"
        for image, known in image_arches.items()
        if (missing := cluster_arches - {arch.value for arch in known})
    )

    wrong_arch = [v for v in verdicts if v.schedulable and v.images_without_arch]
    if wrong_arch:
        details = "; ".join(f"{v.pool}: {', '.join(v.images_without_arch)}" for v in wrong_arch)
        return [
            Finding(
                level,
                "wrong-arch",
                f"{subject} may be scheduled where an image has no build for the node's arch "
                f"(exec format error){in_topology}: {details}. Fix: select only nodes of an arch its images "
                "have (nodeSelector kubernetes.io/arch), or use images built for every arch it may land on",
            )
        ]
    if not landing:
        reasons = "; ".join(
            f"{v.pool}: {', '.join(v.reasons) or 'image has no build for its arch'}" for v in verdicts
        )
        why = f" Images: {lacking}." if lacking else ""
        return [
            Finding(
                level,
                "stranded",
                f"{subject} can run on no pool{of_topology}: {reasons}.{why}{stranded_consequence} Fix: give it "
                "the nodeSelector and tolerations of a pool it should run on, with images built for that "
                "pool's arch",
            )
        ]
    if node_agent:
        missed = [pool.name for pool in pools if pool.name not in landing]
        if not missed:
            return []
        why = f" because {lacking}" if lacking else " (its tolerations or selectors exclude them)"
        reasons = "; ".join(f"{v.pool}: {', '.join(v.reasons)}" for v in verdicts if v.reasons)
        detail = f": {reasons}" if reasons else ""
        suffix = f"; topology {topology}" if topology else ""
        return [
            Finding(
                level,
                "coverage-gap",
                f"{subject} is a node agent but misses pools {', '.join(missed)}{why}{detail}{suffix}. Fix: "
                "tolerate every pool's taints (Armful's values do unless an override removes them) and use "
                "images built for every arch in the cluster",
            )
        ]
    system = {pool.name for pool in pools if pool.role is PoolRole.SYSTEM}
    off_system = [name for name in landing if name not in system]
    if off_system:
        return [
            Finding(
                level,
                "off-system",
                f"{subject} is a controller but may land on worker pools {', '.join(off_system)}; "
                "keep it on the system pool (nodeSelector node.armful.dev/role: system)",
            )
        ]
    return []
