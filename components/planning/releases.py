"""Add-on config → Helm releases and EKS managed add-ons with their exact values, where each workload
lands, and findings.

The values each gets are, in order: placement (``armful.placement.values``), the add-on's own chart
(or configuration) values, the user's overrides. Placement is then proven with the scheduler model on the
final values, so an override that strands a component or narrows a node agent is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from armful.addons.config import AddonsConfig
from armful.addons.context import VPC_ID, AddonContext, DeployTime
from armful.addons.eks_managed import MANAGED_ADDONS, ManagedAddonSpec
from armful.addons.spec import AddonSpec, LogGroup, PodIdentity
from armful.core.errors import ConfigIssue, StackConfigError, config_path
from armful.core.findings import Finding
from armful.core.pools import PoolPlan
from armful.core.topology import Topology
from armful.core.values_tree import deep_merge, get_path, without_nulls
from armful.placement.judgement import judge
from armful.placement.scheduler import NodeProfile, evaluate
from armful.placement.values import placement_values
from armful.placement.workloads import Workload, key_path


@dataclass(frozen=True)
class ReleasePlan:
    spec: AddonSpec
    values: dict[str, Any]
    """Exactly what Helm gets, with DeployTime placeholders for values only ``pulumi up`` knows."""
    log_group: LogGroup | None = None
    pod_identity: PodIdentity | None = None
    """AWS access through Pod Identity, when the add-on needs it with the options given."""

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
    """The Kubernetes kind: Deployment, StatefulSet, DaemonSet, Job."""
    pools: tuple[str, ...]
    hook: bool = False
    """A Helm hook: if it cannot be scheduled, ``helm install`` hangs until it times out."""
    eks_managed: bool = False
    """A workload of an EKS managed add-on, placed through its configuration values, not a Helm release."""
    namespace: str = ""
    replicas: int | None = None
    """Pods it runs; None for a node agent, which runs one on every node it reaches."""

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "workload": self.workload,
            "kind": self.kind,
            "pools": list(self.pools),
            "hook": self.hook,
            "eks_managed": self.eks_managed,
            "namespace": self.namespace,
            "replicas": self.replicas,
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


def release_values(spec: AddonSpec | ManagedAddonSpec, context: AddonContext) -> dict[str, Any]:
    """Placement of the workloads that will run, then the chart's own values, then the user's."""
    chart_and_user = deep_merge(spec.values(context), context.options.values)
    values: dict[str, Any] = {}
    for workload in spec.workloads:
        if workload_enabled(workload, chart_and_user):
            values = deep_merge(values, placement_values(workload, context.pools))
    return deep_merge(values, chart_and_user)


def workload_enabled(workload: Workload, values: Mapping[str, Any]) -> bool:
    if workload.enabled_by is None:
        return True
    value = get_path(without_nulls(values), workload.enabled_by)
    if value is None:
        return workload.enabled_by_default
    return bool(value) if workload.enabled_when is True else value == workload.enabled_when


# The shape Kubernetes gives each scheduling field (PlacementKeys.scheduling names them).
_POD_FIELD_SHAPES = {
    "nodeSelector": Mapping,
    "tolerations": list,
    "affinity": Mapping,
    "nodeAffinity": Mapping,
}


class PlacementValuesError(ValueError):
    """An override gave a placement key a shape Kubernetes would refuse (a list for a map, ...)."""

    def __init__(self, path: tuple[str, ...], problem: str, fix: str) -> None:
        super().__init__(problem)
        self.path, self.problem, self.fix = path, problem, fix


def pod_spec_at(workload: Workload, values: Mapping[str, Any]) -> dict[str, Any]:
    """The scheduling-relevant part of the pod the chart renders from these values, as Helm sees them.

    Raises PlacementValuesError naming the values path when a key has the wrong shape.
    """
    keys = workload.keys
    seen = without_nulls(values)
    pod: dict[str, Any] = {
        **workload.manifest_pod,
        "containers": [{"name": image.ref, "image": image.ref} for image in workload.images],
    }
    if keys.tolerate_all is not None and get_path(seen, key_path(workload.path, keys.tolerate_all)):
        pod["tolerations"] = [*pod.get("tolerations", []), {"operator": "Exists"}]
    for field, key in keys.scheduling().items():
        if key is None:
            continue
        shape = _POD_FIELD_SHAPES[field]
        path = key_path(workload.path, key)
        value = get_path(seen, path)
        if not value:
            continue
        if not isinstance(value, shape) or (shape is list and not all(isinstance(t, Mapping) for t in value)):
            expected = "a list of tolerations" if shape is list else "a map"
            raise PlacementValuesError(
                path,
                f"{field} of {workload.name} must be {expected}, not {value!r}",
                f"give {expected} in Kubernetes form",
            )
        if field == "nodeAffinity":
            pod["affinity"] = {**pod.get("affinity", {}), "nodeAffinity": value}
        else:
            pod[field] = value
    return pod


def replicas_of(workload: Workload, values: Mapping[str, Any], where: str) -> int:
    if workload.keys.replicas is None:
        return workload.replicas or 1
    path = key_path(workload.path, workload.keys.replicas)
    given = get_path(without_nulls(values), path)
    if given is None:
        return workload.replicas or 1
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        raise StackConfigError(
            [
                ConfigIssue(
                    config_path("addons", where, "values", ".".join(path)),
                    f"replicas of {workload.name} must be a whole number, not {given!r}",
                    "give a whole number of replicas",
                )
            ]
        )
    return given


def place_release(
    spec: AddonSpec | ManagedAddonSpec,
    values: Mapping[str, Any],
    pools: Sequence[PoolPlan],
    topology: Topology | None,
) -> tuple[list[PlacementEntry], list[Finding]]:
    """Where each enabled workload can run under the final values, and what is wrong with that."""
    entries, findings = [], []
    nodes = [NodeProfile.of_pool(pool) for pool in pools]
    for workload in spec.workloads:
        if not workload_enabled(workload, values):
            continue
        arches = {image.ref: image.arches for image in workload.images}
        try:
            pod = pod_spec_at(workload, values)
            verdicts = [evaluate(pod, node, arches) for node in nodes]
        except PlacementValuesError as error:
            raise StackConfigError(
                [
                    ConfigIssue(
                        config_path("addons", spec.key, "values", ".".join(error.path)),
                        error.problem,
                        error.fix,
                    )
                ]
            ) from None
        except ValueError as error:  # the scheduler model met an operator Kubernetes does not know
            raise StackConfigError(
                [
                    ConfigIssue(
                        config_path("addons", spec.key, "values"),
                        f"{spec.release} {workload.name}: {error}",
                        "use an operator Kubernetes knows (In, NotIn, Exists, DoesNotExist, Gt, Lt)",
                    )
                ]
            ) from None
        landing = [verdict.pool for verdict in verdicts if verdict.runs]
        entries.append(
            PlacementEntry(
                spec.release,
                workload.name,
                workload.kind.kubernetes_kind,
                tuple(landing),
                workload.kind.is_hook,
                eks_managed=isinstance(spec, ManagedAddonSpec),
                namespace=spec.namespace,
                replicas=None if workload.kind.is_node_agent else replicas_of(workload, values, spec.key),
            )
        )
        findings += judge(
            f"{spec.release} {workload.kind.value} {workload.name}",
            node_agent=workload.kind.is_node_agent,
            pools=pools,
            verdicts=verdicts,
            image_arches=arches,
            topology=topology.value if topology else None,
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
    enabled = tuple(addons.enabled())
    for spec in enabled:
        context = AddonContext(
            pools=tuple(pools),
            cluster_name=cluster_name,
            region=region,
            options=addons.options_for(spec),
            vpc_id=vpc_id,
            enabled_addons=enabled,
        )
        log_group = spec.log_group(cluster_name, context.options) if spec.log_group else None
        identity = spec.pod_identity
        if identity is not None and identity.applies is not None and not identity.applies(context.options):
            identity = None
        release = ReleasePlan(spec, release_values(spec, context), log_group, identity)
        entries, release_findings = place_release(spec, release.values, pools, topology)
        releases.append(release)
        placement += entries
        findings += release_findings
    return releases, placement, findings


@dataclass(frozen=True)
class ManagedAddonPlan:
    spec: ManagedAddonSpec
    configuration_values: dict[str, Any]
    """Exactly what EKS gets as the add-on's configuration values (empty: EKS's defaults)."""
    version: str | None = None
    """The version pinned in ``armful:addons.<key>.version``; None for EKS's default for the cluster's
    Kubernetes version, read at deploy time (never the newest)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "installed_by": "pulumi-eks" if self.spec.installed_with_cluster else "armful",
            "version": self.version or "EKS default for the cluster's Kubernetes version",
            "version_pinned": self.version is not None,
            "configuration_values": self.configuration_values,
        }


def plan_managed_addons(
    addons: AddonsConfig,
    topology: Topology | None,
    pools: Sequence[PoolPlan],
    cluster_name: str,
    region: str,
) -> tuple[list[ManagedAddonPlan], list[PlacementEntry], list[Finding]]:
    """The EKS managed add-ons for these pools: their configuration values (placement, then the user's
    overrides), where each of their workloads lands, and what is wrong with that."""
    plans, placement, findings = [], [], []
    for spec in MANAGED_ADDONS:
        options = addons.options_for(spec)
        context = AddonContext(
            tuple(pools), cluster_name, region, options, network_policies=addons.network_policies_enabled()
        )
        values = release_values(spec, context)
        entries, addon_findings = place_release(spec, values, pools, topology)
        plans.append(ManagedAddonPlan(spec, values, addons.managed_version(spec)))
        placement += entries
        findings += addon_findings
    return plans, placement, findings
