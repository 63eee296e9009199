"""Add-on config → Helm releases and EKS managed add-ons with their exact values, where each workload
lands, and findings.

The values each gets are, in order: placement (``armful.placement.values``), the add-on's own chart
(or configuration) values, the user's overrides. Placement is then proven with the scheduler model on the
final values, so an override that strands a component or narrows a node agent is an error.

The final values also decide which declared workloads exist (``Workload.enabled_if``, as the chart's
templates test it) and which images their pods pull (``Image.keys``): an override that turns a workload off
takes it out of placement and capacity, and one that changes an image is judged on the image it names.
An override that turns on something the chart renders but Armful does not declare is an error, and values
the chart itself refuses (its schema, its templates' ``fail``) are config errors in the chart's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from armful.addons.config import AddonsConfig
from armful.addons.context import VPC_ID, AddonContext, DeployTime
from armful.addons.eks_managed import MANAGED_ADDONS, ManagedAddonSpec
from armful.addons.spec import AddonSpec, LogGroup, PodIdentity
from armful.core.arch import Arch
from armful.core.errors import ConfigIssue, StackConfigError, config_path
from armful.core.findings import Finding, FindingLevel
from armful.core.pools import PoolPlan
from armful.core.topology import Topology
from armful.core.values_tree import deep_merge, get_path, without_nulls
from armful.placement.judgement import judge
from armful.placement.scheduler import NodeProfile, evaluate
from armful.placement.values import placement_values
from armful.placement.workloads import ValuesPath, Workload, all_hold, key_path
from armful.planning.chart_schemas import schema_issues
from armful.planning.value_rules import refusal_issues

UNDECLARED = "undeclared-workload"
"""The code of a finding about a pod template the values turn on that Armful does not declare."""


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
    images: tuple[str, ...] = ()
    """Every image its pods pull with the final values (init containers and sidecars included)."""
    targets: tuple[str, ...] = ()
    """The pools whose filters take its pods, whatever their arch: each of its images needs a build for
    every one of them (``pools`` leaves out those where an image lacks one)."""

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
            "images": list(self.images),
        }


@dataclass(frozen=True)
class ReleaseFinding(Finding):
    """A finding about one release that rendering the release can settle."""

    release: str = ""
    settled: str = ""
    """What it says instead once a render has placed every pod template of the release."""


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


ImageArches = Mapping[str, frozenset[Arch]]
"""Platforms read from registries (``readiness``), by image reference."""


def image_arches_at(
    workload: Workload, values: Mapping[str, Any], read: ImageArches | None = None
) -> dict[str, frozenset[Arch] | None]:
    """Each image the workload's pods pull with these values → its arches: as read from its registry, else
    as declared for that image, else None (an image an override names that nobody has read)."""
    known = read or {}
    arches: dict[str, frozenset[Arch] | None] = {}
    for ref in workload.images_at(values):
        declared = workload.declared_image(ref)
        arches[ref] = known.get(ref, declared.arches if declared else None)
    return arches


def release_values(
    spec: AddonSpec | ManagedAddonSpec, context: AddonContext, read: ImageArches | None = None
) -> dict[str, Any]:
    """Placement of the workloads that will run, then the chart's own values, then the user's.

    Placement is written twice: the images a workload's pods pull (and so the arch it must be kept to)
    are those of the values with its placement in them (a workload's ``extra_values`` may pin a tag).
    """
    chart_and_user = deep_merge(spec.values(context), context.options.values)
    running = [workload for workload in spec.workloads if workload.runs(chart_and_user)]
    first: dict[str, Any] = {}
    for workload in running:
        first = deep_merge(first, placement_values(workload, context.pools))
    first = deep_merge(first, chart_and_user)
    values: dict[str, Any] = {}
    for workload in running:
        images = image_arches_at(workload, first, read)
        values = deep_merge(values, placement_values(workload, context.pools, images))
    return deep_merge(values, chart_and_user)


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
        "containers": [{"name": ref, "image": ref} for ref in workload.images_at(values)],
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
    read: ImageArches | None = None,
    user_values: Mapping[str, Any] | None = None,
) -> tuple[list[PlacementEntry], list[Finding]]:
    """Where each workload the final values turn on can run, and what is wrong with that.

    ``user_values`` are the overrides, so that a finding about an image names the keys they set.
    """
    entries, findings = [], []
    nodes = [NodeProfile.of_pool(pool) for pool in pools]
    for workload in spec.workloads:
        if not workload.runs(values):
            continue
        images = image_arches_at(workload, values, read)
        arches = {ref: known for ref, known in images.items() if known is not None}
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
                images=tuple(images),
                targets=tuple(verdict.pool for verdict in verdicts if verdict.schedulable),
            )
        )
        subject = f"{spec.release} {workload.kind.value} {workload.name}"
        findings += judge(
            subject,
            node_agent=workload.kind.is_node_agent,
            pools=pools,
            verdicts=verdicts,
            image_arches=arches,
            topology=topology.value if topology else None,
        )
        findings += [
            _unread_image(spec, workload, ref, values, user_values or {})
            for ref, known in images.items()
            if known is None
        ]
    return entries, findings


def _unread_image(
    spec: AddonSpec | ManagedAddonSpec,
    workload: Workload,
    ref: str,
    values: Mapping[str, Any],
    user_values: Mapping[str, Any],
) -> Finding:
    """An image the values name instead of the declared one, whose arches nothing has read."""
    keys = [
        ".".join(path)
        for image in workload.images
        if image.keys is not None and image.at(values) == ref
        for path in image.keys.paths
        if _is_set(user_values, path)
    ]
    keys += [".".join(path) for path in workload.extra_containers if _is_set(user_values, path)]
    named = f" (set by {', '.join(f'addons.{spec.key}.values.{key}' for key in keys)})" if keys else ""
    return Finding(
        FindingLevel.WARNING,
        "arch-unknown",
        f"{spec.release} {workload.kind.value} {workload.name} runs {ref}{named}, which is not the image "
        "Armful declares: the arches it is built for have not been read, so plan cannot show it runs on "
        "every pool it lands on. Fix: run `armful readiness` on this stack, which reads them (and plan then "
        "judges them)",
    )


def undeclared_findings(
    spec: AddonSpec, values: Mapping[str, Any], user_values: Mapping[str, Any]
) -> list[Finding]:
    """Each pod template the final values turn on that the add-on does not declare, naming the keys the
    user's overrides set to turn it on."""
    findings: list[Finding] = []
    for undeclared in spec.undeclared:
        if not all_hold(undeclared.enabled_if, values):
            continue
        switches = [switch for condition in undeclared.enabled_if for switch in condition.switches()]
        given = [s.path for s in switches if _is_set(user_values, s.path)] or [s.path for s in switches]
        keys = ", ".join(f"addons.{spec.key}.values.{'.'.join(path)}" for path in dict.fromkeys(given))
        turns_on = f"{spec.release}: {keys} turns on {undeclared.what}, which Armful does not declare"
        findings.append(
            ReleaseFinding(
                FindingLevel.ERROR,
                UNDECLARED,
                f"{turns_on}: plan cannot place it, count its requests or check its images, and the chart "
                "gives it no nodeSelector or toleration of Armful's pools, so it lands on a worker pool or "
                f"nowhere. Fix: remove the override, or give {undeclared.keys} the nodeSelector and "
                "tolerations of the pool it should run on and prove it with `armful plan --render`",
                release=spec.release,
                settled=f"{turns_on}; rendered with Helm, every pod template of the release is placed, but "
                "capacity does not count its pods",
            )
        )
    return findings


def _is_set(tree: Mapping[str, Any], path: ValuesPath) -> bool:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def plan_releases(
    addons: AddonsConfig,
    topology: Topology,
    pools: Sequence[PoolPlan],
    cluster_name: str,
    region: str,
    vpc_id: str | DeployTime = VPC_ID,
    image_arches: ImageArches | None = None,
) -> tuple[list[ReleasePlan], list[PlacementEntry], list[Finding]]:
    """The enabled add-ons for these pools: their releases, where each workload lands, what is wrong.

    ``image_arches`` are platforms read from registries; they win over the arches declared for add-on
    images, and judge the images overrides name. Raises StackConfigError for values a chart refuses.
    """
    releases, placement, findings = [], [], []
    refused: list[ConfigIssue] = []
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
        release = ReleasePlan(spec, release_values(spec, context, image_arches), log_group, identity)
        refused += refusal_issues(spec, release.values)
        refused += schema_issues(spec, render_placeholders(release.values))
        releases.append(release)
    # What the charts refuse comes first: Helm would stop there, before any pod exists.
    if refused:
        raise StackConfigError(refused)
    for release in releases:
        spec = release.spec
        user_values = addons.options_for(spec).values
        entries, release_findings = place_release(
            spec, release.values, pools, topology, image_arches, user_values
        )
        placement += entries
        findings += release_findings
        findings += undeclared_findings(spec, release.values, user_values)
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
