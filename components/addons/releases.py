"""Stack config → Helm releases with their exact values, where each workload lands, and findings.

The values each release gets are, in order: placement (``components.placement.values``), the add-on's
own chart values, the user's overrides. Placement is then proven with the scheduler model on the
final values, so an override that strands a component or narrows a node agent is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.addons.config import AddonsConfig
from components.addons.context import VPC_ID, AddonContext, DeployTime
from components.addons.spec import AddonSpec, LogGroup, Workload
from components.core.findings import Finding
from components.core.pools import PoolPlan
from components.core.topology import Topology
from components.core.values_tree import deep_merge, get_path
from components.placement.judgement import judge
from components.placement.scheduler import NodeProfile, evaluate
from components.placement.values import placement_values


@dataclass(frozen=True)
class ReleasePlan:
    spec: AddonSpec
    values: dict[str, Any]
    """Exactly what Helm gets, with DeployTime placeholders for values only ``pulumi up`` knows."""
    log_group: LogGroup | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.spec.release,
            "namespace": self.spec.namespace,
            "chart": self.spec.chart,
            "version": self.spec.version,
            "repository": self.spec.repository,
            "values": render_placeholders(self.values),
        }


@dataclass(frozen=True)
class PlacementEntry:
    release: str
    workload: str
    kind: str
    pools: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "workload": self.workload,
            "kind": self.kind,
            "pools": list(self.pools),
        }


def placeholders(tree: Any) -> set[DeployTime]:
    """Every DeployTime a values tree holds: what the Pulumi layer must supply."""
    if isinstance(tree, DeployTime):
        return {tree}
    if isinstance(tree, Mapping):
        return set().union(*(placeholders(value) for value in tree.values()))
    if isinstance(tree, list):
        return set().union(*(placeholders(value) for value in tree))
    return set()


def render_placeholders(tree: Any) -> Any:
    if isinstance(tree, DeployTime):
        return str(tree)
    if isinstance(tree, Mapping):
        return {key: render_placeholders(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [render_placeholders(value) for value in tree]
    return tree


def release_values(spec: AddonSpec, context: AddonContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for workload in spec.workloads:
        values = deep_merge(values, placement_values(workload, context.pools))
    values = deep_merge(values, spec.values(context))
    return deep_merge(values, context.options.values)


def workload_enabled(workload: Workload, values: Mapping[str, Any]) -> bool:
    if workload.enabled_by is None:
        return True
    return bool(get_path(values, workload.enabled_by, workload.enabled_by_default))


def pod_spec_at(workload: Workload, values: Mapping[str, Any]) -> dict[str, Any]:
    """The scheduling-relevant part of the pod the chart renders from these values."""
    keys = workload.keys
    spec: dict[str, Any] = {
        "containers": [{"name": image.ref, "image": image.ref} for image in workload.images]
    }
    for field, key in (
        ("nodeSelector", keys.node_selector),
        ("tolerations", keys.tolerations),
        ("affinity", keys.affinity),
    ):
        if key is not None:
            value = get_path(values, (*workload.path, key))
            if value:
                spec[field] = value
    return spec


def place_release(
    spec: AddonSpec, values: Mapping[str, Any], pools: Sequence[PoolPlan], topology: Topology
) -> tuple[list[PlacementEntry], list[Finding]]:
    """Where each enabled workload can run under the final values, and what is wrong with that."""
    entries, findings = [], []
    nodes = [NodeProfile.of_pool(pool) for pool in pools]
    for workload in spec.workloads:
        if not workload_enabled(workload, values):
            continue
        arches = {image.ref: image.arches for image in workload.images}
        verdicts = [evaluate(pod_spec_at(workload, values), node, arches) for node in nodes]
        landing = [verdict.pool for verdict in verdicts if verdict.runs]
        entries.append(PlacementEntry(spec.release, workload.name, workload.kind.value, tuple(landing)))
        findings += judge(
            f"{spec.release} {workload.kind.value} {workload.name}",
            node_agent=workload.kind.is_node_agent,
            pools=pools,
            verdicts=verdicts,
            image_arches=arches,
            topology=topology.value,
        )
    return entries, findings


def plan_releases(
    addons: AddonsConfig,
    topology: Topology,
    pools: Sequence[PoolPlan],
    cluster_name: str,
    region: str,
    vpc_id: str | DeployTime = VPC_ID,
) -> tuple[list[ReleasePlan], list[PlacementEntry], list[Finding]]:
    """The enabled add-ons for these pools: their releases, where each workload lands, what is wrong."""
    releases, placement, findings = [], [], []
    for spec in addons.enabled():
        context = AddonContext(
            topology=topology,
            pools=tuple(pools),
            cluster_name=cluster_name,
            region=region,
            options=addons.options_for(spec),
            vpc_id=vpc_id,
        )
        log_group = spec.log_group(cluster_name, context.options) if spec.log_group else None
        release = ReleasePlan(spec, release_values(spec, context), log_group)
        entries, release_findings = place_release(spec, release.values, pools, topology)
        releases.append(release)
        placement += entries
        findings += release_findings
    return releases, placement, findings
