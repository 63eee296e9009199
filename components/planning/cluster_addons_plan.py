"""``ClusterAddons``' args → the releases it installs and where their workloads land, before anything exists.

Pure: the component checks what only Pulumi can (its providers) and passes its args here; everything
else that can be wrong with them is found at once, each with the arg's path and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from armful.addons.config import NETWORK_POLICIES_KEY, AddonsConfig
from armful.addons.context import VPC_ID
from armful.addons.eks_managed import MANAGED_ADDONS
from armful.addons.registry import ADDONS, SECRETS
from armful.addons.spec import AddonSpec
from armful.core.config import PoolDescriptionConfig
from armful.core.errors import CONFIG_NAMESPACE, ConfigIssue, StackConfigError, issues_from_pydantic
from armful.core.findings import Finding, FindingLevel
from armful.core.pool_planner import topology_issue, workers_of_every_arch_issues
from armful.core.pools import PoolPlan, PoolRole, pool_from_description
from armful.core.topology import Topology
from armful.planning.component_args import ArgsError, cluster_name_issues
from armful.planning.network_policies_plan import PlannedPolicy, needs_vpc_cidrs, plan_network_policies
from armful.planning.plan import PlanError
from armful.planning.pod_security import NamespacePlan, plan_namespaces
from armful.planning.releases import (
    PlacementEntry,
    ReleaseFinding,
    ReleasePlan,
    placeholders,
    plan_releases,
)


@dataclass(frozen=True)
class AddonsPlan:
    """The releases to install and where each of their workloads lands, already free of error findings."""

    releases: tuple[ReleasePlan, ...]
    placement: tuple[PlacementEntry, ...]
    namespaces: tuple[NamespacePlan, ...] = ()
    """The namespaces the releases create, each with its Pod Security level."""
    network_policies: tuple[PlannedPolicy, ...] = ()
    awaiting_render: tuple[Finding, ...] = ()
    """Errors only a render of the charts can settle (a workload an override turns on that Armful does not
    declare): the component renders, or refuses with them."""


# The arg that supplies each deploy-time placeholder a plan can hold: the VPC, and each add-on's secrets.
DEPLOY_TIME_ARGS: dict[str, str] = {VPC_ID.name: "vpc_id", **{secret.name: secret.name for secret in SECRETS}}


def deploy_time_values(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args that stand in for the plan's deploy-time placeholders, by the placeholder's name."""
    return {
        placeholder: args[arg] for placeholder, arg in DEPLOY_TIME_ARGS.items() if args.get(arg) is not None
    }


def release_order(releases: Sequence[ReleasePlan]) -> list[ReleasePlan]:
    """The releases in an order where each comes after every release it waits for.

    A release waits for its ``needs`` (the CRDs it uses) and, unless it is one, for every release whose
    admission webhook gates the others. Otherwise the plan's order is kept. A need that is not among the
    releases, or a cycle, is an error: a dependency must never be dropped silently.
    """
    by_name = {release.spec.release: release for release in releases}
    gates = [release.spec.release for release in releases if release.spec.gates_other_releases]

    def waits_for(release: ReleasePlan) -> list[str]:
        missing = [need for need in release.spec.needs if need not in by_name]
        if missing:
            raise ValueError(
                f"release {release.spec.release} needs {', '.join(missing)}, which is not among the "
                f"releases to install ({', '.join(by_name) or 'none'}). Fix: enable the add-on it needs"
            )
        own = [] if release.spec.gates_other_releases else gates
        return [*own, *release.spec.needs]

    ordered: list[ReleasePlan] = []
    placed: set[str] = set()
    pending = list(releases)
    while pending:
        ready = [release for release in pending if set(waits_for(release)) <= placed]
        if not ready:
            cycle = ", ".join(release.spec.release for release in pending)
            raise ValueError(f"the releases {cycle} wait for each other; no order can install them")
        ordered += ready
        placed |= {release.spec.release for release in ready}
        pending = [release for release in pending if release.spec.release not in placed]
    return ordered


def issues_under(prefix: str, error: ValidationError) -> list[ConfigIssue]:
    """Pydantic errors as issues whose paths start at one of a component's args."""
    issues = []
    for issue in issues_from_pydantic(error):
        rest = issue.path.removeprefix(f"{CONFIG_NAMESPACE}:").removeprefix(CONFIG_NAMESPACE)
        path = f"{prefix}{rest}" if rest.startswith("[") or not rest else f"{prefix}.{rest}"
        issues.append(ConfigIssue(path, issue.problem, issue.fix))
    return issues


def describe_pools(
    descriptions: Sequence[Mapping[str, Any]], arg: str = "pools", component: str = "ClusterAddons"
) -> tuple[PoolPlan, ...]:
    """Pool descriptions → pools to place add-ons on; raises ArgsError naming each wrong field."""
    issues: list[ConfigIssue] = []
    models: list[PoolDescriptionConfig] = []
    for index, description in enumerate(descriptions or ()):
        try:
            models.append(PoolDescriptionConfig.model_validate(dict(description)))
        except ValidationError as error:
            issues += issues_under(f"{arg}[{index}]", error)
    if issues:
        raise ArgsError(issues, component)

    seen: dict[str, int] = {}
    for index, model in enumerate(models):
        if model.name in seen:
            issues.append(
                ConfigIssue(
                    f"{arg}[{index}].name",
                    f"pool name {model.name!r} is already used by {arg}[{seen[model.name]}]",
                    "give every pool its own name",
                )
            )
        seen.setdefault(model.name, index)
    system = [index for index, model in enumerate(models) if model.role is PoolRole.SYSTEM]
    if not system:
        issues.append(
            ConfigIssue(
                arg,
                "no pool has role system, so the add-ons' controllers have nowhere to run",
                "describe the pool that runs cluster-critical add-ons with role: system",
            )
        )
    for index in system[1:]:
        issues.append(
            ConfigIssue(
                f"{arg}[{index}].role",
                f"pool {models[index].name!r} is a second system pool (the first is {models[system[0]].name!r})",
                "give exactly one pool role system and the others role workers",
            )
        )
    if issues:
        raise ArgsError(issues, component)
    return tuple(
        pool_from_description(
            model.name, model.role, model.arch, model.labels, tuple(t.to_taint() for t in model.taints)
        )
        for model in models
    )


def _topology_issues(topology: Topology, pools: Sequence[PoolPlan]) -> list[ConfigIssue]:
    issues = [
        topology_issue(
            topology, pool.role, f"{pool.name!r} is {pool.arch.value}", f"pools[{index}].arch", "nodes"
        )
        for index, pool in enumerate(pools)
        if pool.arch not in topology.allowed_arches(pool.role)
    ]
    if not issues:
        issues += workers_of_every_arch_issues(
            topology, pools, "pools", "the cluster's {arches} worker pools to the description"
        )
    return issues


def plan_cluster_addons(
    args: Mapping[str, Any],
    region: str | None,
    issues: Sequence[ConfigIssue] = (),
    *,
    render_settles: bool = False,
) -> AddonsPlan:
    """Validate ClusterAddons' args and plan its releases; raises ArgsError or PlanError.

    ``issues`` are what the component found itself (unknown args, providers), reported with these.
    """
    found = [*issues, *cluster_name_issues(args, " as a string")]
    topology: Topology | None = None
    try:
        topology = Topology(args.get("topology"))
    except ValueError:
        found.append(
            ConfigIssue(
                "topology",
                f"{args.get('topology')!r} is not a topology",
                f"use one of {', '.join(t.value for t in Topology)}",
            )
        )
    pools: tuple[PoolPlan, ...] = ()
    try:
        pools = describe_pools(args.get("pools") or ())
    except StackConfigError as error:
        found += error.issues
    if topology is not None and pools:
        found += _topology_issues(topology, pools)
    addons = None
    try:
        addons = AddonsConfig.model_validate(args.get("addons") or {})
    except ValidationError as error:
        found += issues_under("addons", error)
    found += misplaced_addon_keys(args, "ClusterAddons", takes_managed=False)
    if not region:
        found.append(
            ConfigIssue(
                "region",
                "no AWS region is given",
                "set region, or the stack's aws:region (pulumi config set)",
            )
        )
    if found or topology is None or addons is None or not region:
        raise ArgsError(found)

    releases, placement, findings = plan_releases(
        addons, topology, pools, args["cluster_name"], region, VPC_ID
    )
    settled = [
        finding
        for finding in findings
        if render_settles and isinstance(finding, ReleaseFinding) and finding.settled
    ]
    if any(finding.level is FindingLevel.ERROR and finding not in settled for finding in findings):
        raise PlanError(findings, subject="these add-ons")
    raise_for_missing_deploy_time_args(releases, args)
    policies = plan_network_policies(releases, addons)
    if needs_vpc_cidrs(policies) and args.get("vpc_id") is None:
        raise ArgsError(
            [
                ConfigIssue(
                    "vpc_id",
                    "the add-ons' NetworkPolicies admit the control plane and the nodes by the VPC's CIDR "
                    "blocks, and vpc_id, which names the VPC, is not given",
                    "give vpc_id, or set addons.networkPolicies.enabled: false",
                )
            ]
        )
    return AddonsPlan(tuple(releases), tuple(placement), plan_namespaces(releases), policies, tuple(settled))


def raise_for_missing_deploy_time_args(releases: Sequence[ReleasePlan], args: Mapping[str, Any]) -> None:
    """Each release whose values need an arg (the VPC, a secret) that is not given, named with the fix."""
    known = deploy_time_values(args)
    users: dict[str, list[AddonSpec]] = {}
    for release in releases:
        for placeholder in sorted(placeholders(release.values), key=lambda p: p.name):
            if placeholder.name not in known:
                users.setdefault(DEPLOY_TIME_ARGS.get(placeholder.name, placeholder.name), []).append(
                    release.spec
                )
    if users:
        raise ArgsError(
            [
                ConfigIssue(
                    arg,
                    f"{' and '.join(spec.release for spec in specs)} {'need' if len(specs) > 1 else 'needs'} "
                    f"{arg}, which is not given",
                    f"give {arg}, or disable {' and '.join(f'addons.{spec.key}' for spec in specs)}",
                )
                for arg, specs in sorted(users.items())
            ]
        )


def misplaced_addon_keys(
    args: Mapping[str, Any], component: str, *, takes_managed: bool
) -> list[ConfigIssue]:
    """An add-on the component does not install would be silently ignored: say where it belongs."""
    other_kind = ADDONS if takes_managed else MANAGED_ADDONS
    theirs = {spec.key for spec in other_kind} | {to_snake(spec.key) for spec in other_kind}
    elsewhere = "ClusterAddons" if takes_managed else "EksManagedAddons"
    kind = "a Helm add-on" if takes_managed else "an EKS managed add-on"
    # The network policy switch is ClusterAddons' too: EksManagedAddons would ignore it.
    switch = {NETWORK_POLICIES_KEY, to_snake(NETWORK_POLICIES_KEY)} if takes_managed else set()
    issues = [
        ConfigIssue(
            f"addons.{key}",
            f"{key} is {kind}, which {component} does not install",
            f"give it to {elsewhere} (ArmCluster takes both)",
        )
        for key in args.get("addons") or {}
        if key in theirs
    ]
    return issues + [
        ConfigIssue(
            f"addons.{key}",
            f"{key} switches the add-ons' NetworkPolicies, which {component} does not apply",
            f"give it to {elsewhere} (ArmCluster takes both)",
        )
        for key in args.get("addons") or {}
        if key in switch
    ]
