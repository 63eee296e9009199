"""``ClusterAddons``: Armful's add-ons as Helm releases, placed for the cluster's pools.

On its own it installs on an EKS cluster you already have: give it the cluster's Kubernetes provider (or a
kubeconfig) and a description of its pools (names, role, arch, labels, taints), and every controller goes
to the system pool while every node agent reaches every pool. Inside ``ArmCluster`` it installs what the
stack's plan decided.

No ``from __future__ import annotations`` here: Pulumi's component analyzer reads these annotations at
run time to infer the package schema (``plugin/``), so they must be real types, not strings.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from armful.addons.config import AddonsConfig
from armful.addons.context import GRAFANA_ADMIN_PASSWORD, VPC_ID, DeployTime
from armful.addons.releases import PlacementEntry, ReleasePlan, placeholders, plan_releases
from armful.addons.spec import AddonSpec, chart_reference
from armful.component_args import ArgsError, cluster_name_issues, unknown_arg_issues
from armful.core.arch import Arch
from armful.core.config_base import ConfigModel
from armful.core.errors import CONFIG_NAMESPACE, ConfigIssue, StackConfigError, issues_from_pydantic
from armful.core.findings import Finding, FindingLevel
from armful.core.pool_planner import mixed_needs_both_arches, topology_issue
from armful.core.pools import ARCH_LABEL, ROLE_LABEL, PoolPlan, PoolRole, pool_from_description
from armful.core.taints import Taint, TaintEffect
from armful.core.topology import Topology
from armful.iam import pod_identity_role
from armful.node_pools import TaintSpec

HELM_TIMEOUT_SECONDS = 900


class PlanError(ValueError):
    """The plan has error findings: something would be stranded, on the wrong arch or miss a pool."""

    def __init__(self, findings: Iterable[Finding], subject: str = "this stack") -> None:
        self.findings = tuple(f for f in findings if f.level is FindingLevel.ERROR)
        errors = [f"  - [{f.code}] {f.message}" for f in self.findings]
        super().__init__(f"Armful will not create {subject}; the plan has errors:\n" + "\n".join(errors))


class PoolDescription(TypedDict):
    """A node pool of a cluster Armful did not create, described by what its nodes carry."""

    name: str
    """The pool's name, as placement and errors show it."""
    role: str
    """system or workers. Exactly one pool is the system pool: the add-ons' controllers run there."""
    arch: str
    """amd64 or arm64: the architecture of every node in the pool."""
    labels: NotRequired[dict[str, str]]
    """The labels the pool's nodes carry. The system pool's must include node.armful.dev/role: system, which every add-on controller selects."""
    taints: NotRequired[Sequence[TaintSpec]]
    """The taints the pool's nodes carry, in Kubernetes form (effect NoSchedule, PreferNoSchedule or NoExecute)."""


class ClusterAddonsArgs(TypedDict):
    cluster_name: str
    """The EKS cluster's name: for the charts that need it, CloudWatch log groups and Pod Identity associations."""
    topology: str
    """arm-workers, all-arm or mixed: which architecture each role's pools may have."""
    pools: Sequence[PoolDescription]
    """Every node pool of the cluster, exactly one of them with role system."""
    region: NotRequired[str]
    """The cluster's AWS region (default: the stack's aws:region)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """The cluster's VPC; required while awsLoadBalancerController is enabled."""
    kubernetes_provider: NotRequired[k8s.Provider]
    """The cluster's Kubernetes provider; give this, a kubeconfig, or a kubernetes provider in the resource options."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """A kubeconfig for the cluster, from which the component makes its own Kubernetes provider (instead of passing one)."""
    addons: NotRequired[dict[str, Any]]
    """Per add-on, keyed and shaped as stack config's armful:addons (camelCase, e.g. certManager): enabled, options, values overrides."""
    grafana_admin_password: NotRequired[pulumi.Input[str]]
    """Grafana's admin password, kept secret; required while kubePrometheusStack is enabled."""


@dataclass(frozen=True)
class AddonsPlan:
    """The releases to install and where each of their workloads lands, already free of error findings."""

    releases: tuple[ReleasePlan, ...]
    placement: tuple[PlacementEntry, ...]


class ClusterAddons(pulumi.ComponentResource):
    """Armful's add-ons as Helm releases on an EKS cluster, placed for the cluster's own pools: controllers and hook Jobs on the system pool, node agents on every pool, proven with a model of the scheduler before anything is created."""

    release_names: pulumi.Output[list[str]]
    """The Helm releases installed."""
    placement: pulumi.Output[dict[str, list[str]]]
    """Where each add-on workload can run: "<release>/<workload>" to the names of the pools."""

    def __init__(
        self,
        name: str,
        args: ClusterAddonsArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        _planned: AddonsPlan | None = None,
    ) -> None:
        # Everything that can be wrong is found before the first registration, this component's included.
        planned = _planned if _planned is not None else plan_cluster_addons(args, opts)
        ordered = release_order(planned.releases)
        super().__init__("armful:index:ClusterAddons", name, None, opts)

        provider: pulumi.ProviderResource | None = args.get("kubernetes_provider")
        if provider is None and args.get("kubeconfig") is not None:
            provider = k8s.Provider(
                f"{name}-k8s",
                kubeconfig=pulumi.Output.secret(args["kubeconfig"]),
                enable_server_side_apply=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        inherited = inherited_options(opts)
        known = deploy_time_values(args)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        gates: list[pulumi.Resource] = []
        for plan in ordered:
            spec = plan.spec
            # Besides the releases it follows, a release waits for its log group, and for its Pod
            # Identity association and the role's permissions, so that its pods get working credentials.
            access: list[pulumi.Resource] = []
            if plan.log_group is not None:
                access.append(
                    aws.cloudwatch.LogGroup(
                        f"{name}-{spec.release}",
                        name=plan.log_group.name,
                        retention_in_days=plan.log_group.retention_days,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            identity = plan.pod_identity
            if identity is not None:
                role = pod_identity_role(
                    f"{name}-{spec.release}",
                    partition,
                    parent=self,
                    cluster_name=args["cluster_name"],
                    namespace=spec.namespace,
                    service_account=identity.service_account,
                    managed_policies=identity.managed_policies,
                    inline_policy=(
                        partition.apply(lambda p, policy=identity.inline_policy: json.dumps(policy(p)))
                        if identity.inline_policy is not None
                        else None
                    ),
                )
                access.append(
                    aws.eks.PodIdentityAssociation(
                        f"{name}-{spec.release}",
                        cluster_name=args["cluster_name"],
                        namespace=spec.namespace,
                        service_account=identity.service_account,
                        role_arn=role.role.arn,
                        opts=pulumi.ResourceOptions.merge(inherited, pulumi.ResourceOptions(parent=self)),
                    )
                )
                access += role.policies
            # release_order put every release this one follows before it.
            follows = [self.releases[release] for release in spec.needs]
            if not spec.gates_other_releases:
                follows = [*gates, *follows]
            self.releases[spec.release] = k8s.helm.v3.Release(
                f"{name}-{spec.release}",
                name=spec.release,
                chart=chart_reference(spec.chart, spec.repository),
                repository_opts=None if spec.repository.startswith("oci://") else {"repo": spec.repository},
                version=spec.version,
                namespace=spec.namespace,
                create_namespace=spec.create_namespace,
                values=resolve_deploy_time(plan.values, known),
                atomic=True,
                cleanup_on_fail=True,
                timeout=HELM_TIMEOUT_SECONDS,
                opts=pulumi.ResourceOptions.merge(
                    inherited,
                    pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*access, *follows]),
                ),
            )
            if spec.gates_other_releases:
                gates.append(self.releases[spec.release])
        self.release_names = pulumi.Output.from_input(list(self.releases))
        self.placement = pulumi.Output.from_input(
            {f"{entry.release}/{entry.workload}": list(entry.pools) for entry in planned.placement}
        )
        self.register_outputs({"release_names": self.release_names, "placement": self.placement})


def inherited_options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """A component's ``depends_on`` and ``deleted_with``, for the children that touch the cluster.

    Pulumi gives these options to the component alone; its children would not wait for what the
    component waits for (nodes, managed add-ons) nor be deleted with the cluster unless they carry them.
    """
    if opts is None:
        return pulumi.ResourceOptions()
    return pulumi.ResourceOptions(depends_on=opts.depends_on, deleted_with=opts.deleted_with)


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


def eks_taints(description: Mapping[str, Any]) -> list[dict[str, str]]:
    """A pool description's taints as the EKS node group API takes them (``effect: NO_SCHEDULE``).

    Describe a pool once, in Kubernetes form, and give its node group ``taints=eks_taints(description)``.
    """
    return [Taint.from_kubernetes(taint).to_eks() for taint in description.get("taints", ())]


# --- validation and planning, before anything is registered ---------------------------------------


_EKS_EFFECTS = {effect.eks_name: effect for effect in TaintEffect}


class _TaintDescription(ConfigModel):
    key: Annotated[str, Field(min_length=1, max_length=317)]
    value: Annotated[str, Field(max_length=63)] = ""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE

    @field_validator("effect", mode="before")
    @classmethod
    def _kubernetes_form(cls, effect: Any) -> Any:
        if isinstance(effect, str) and effect in _EKS_EFFECTS:
            raise ValueError(
                f"{effect!r} is how the EKS API spells a taint effect. "
                f"Fix: describe taints in Kubernetes form, here {_EKS_EFFECTS[effect].value!r}"
            )
        return effect


class _PoolDescriptionModel(ConfigModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    role: PoolRole
    arch: Arch
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[_TaintDescription] = Field(default_factory=list)

    @field_validator("labels")
    @classmethod
    def _labels_match_the_pool(cls, labels: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        arch, role = info.data.get("arch"), info.data.get("role")
        if arch is not None and labels.get(ARCH_LABEL, arch.value) != arch.value:
            raise ValueError(
                f"label {ARCH_LABEL}={labels[ARCH_LABEL]} contradicts arch {arch.value} (Kubernetes sets this "
                f"label from the node itself). Fix: correct arch, or remove the label from the description"
            )
        if role is None:
            return labels
        if role is PoolRole.SYSTEM and labels.get(ROLE_LABEL) != PoolRole.SYSTEM.value:
            raise ValueError(
                f"the system pool's nodes must carry the label {ROLE_LABEL}: system, which every add-on "
                f"controller selects. Fix: add {ROLE_LABEL}: system to the node group's labels and to this "
                "description"
            )
        if ROLE_LABEL in labels and labels[ROLE_LABEL] != role.value:
            raise ValueError(
                f"label {ROLE_LABEL}={labels[ROLE_LABEL]} contradicts role {role.value}, and would draw "
                f"add-on controllers onto it. Fix: set {ROLE_LABEL}: {role.value} or remove the label"
            )
        return labels


def _issues_under(prefix: str, error: ValidationError) -> list[ConfigIssue]:
    """Pydantic errors as issues whose paths start at one of the component's args."""
    issues = []
    for issue in issues_from_pydantic(error):
        rest = issue.path.removeprefix(f"{CONFIG_NAMESPACE}:").removeprefix(CONFIG_NAMESPACE)
        path = f"{prefix}{rest}" if rest.startswith("[") or not rest else f"{prefix}.{rest}"
        issues.append(ConfigIssue(path, issue.problem, issue.fix))
    return issues


def describe_pools(
    descriptions: Sequence[Mapping[str, Any]], arg: str = "pools", component: str = "ClusterAddons"
) -> tuple[PoolPlan, ...]:
    """Pool descriptions → pools to place add-ons on; raises StackConfigError naming each wrong field."""
    issues: list[ConfigIssue] = []
    models: list[_PoolDescriptionModel] = []
    for index, description in enumerate(descriptions or ()):
        try:
            models.append(_PoolDescriptionModel.model_validate(dict(description)))
        except ValidationError as error:
            issues += _issues_under(f"{arg}[{index}]", error)
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
            model.name,
            model.role.value,
            model.arch.value,
            model.labels,
            [{"key": t.key, "value": t.value, "effect": t.effect.value} for t in model.taints],
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
    if topology is Topology.MIXED and not issues:
        issues += mixed_needs_both_arches(
            pools, "pools", "the cluster's {arches} worker pools to the description"
        )
    return issues


def _has_kubernetes_provider(opts: pulumi.ResourceOptions | None) -> bool:
    if opts is None:
        return False
    providers = opts.providers
    candidates = list(providers.values()) if isinstance(providers, Mapping) else list(providers or [])
    if opts.provider is not None:
        candidates.append(opts.provider)
    return any(getattr(provider, "package", None) == "kubernetes" for provider in candidates)


def plan_cluster_addons(
    args: ClusterAddonsArgs | Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
) -> AddonsPlan:
    """Validate ClusterAddons' args and plan its releases; raises StackConfigError or PlanError."""
    issues = unknown_arg_issues("ClusterAddons", args, ClusterAddonsArgs.__annotations__, "cluster_name")
    issues += cluster_name_issues(args, " as a string")
    cluster_name = args.get("cluster_name")
    topology: Topology | None = None
    try:
        topology = Topology(args.get("topology"))
    except ValueError:
        issues.append(
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
        issues += error.issues
    if topology is not None and pools:
        issues += _topology_issues(topology, pools)
    addons = None
    try:
        addons = AddonsConfig.model_validate(args.get("addons") or {})
    except ValidationError as error:
        issues += _issues_under("addons", error)
    region = args.get("region") or pulumi.Config("aws").get("region")
    if not region:
        issues.append(
            ConfigIssue(
                "region",
                "no AWS region is given",
                "set region, or the stack's aws:region (pulumi config set)",
            )
        )
    given = args.get("kubernetes_provider")
    has_provider, has_kubeconfig = given is not None, args.get("kubeconfig") is not None
    if has_provider and not (isinstance(given, pulumi.ProviderResource) and given.package == "kubernetes"):
        issues.append(
            ConfigIssue(
                "kubernetes_provider",
                f"{given!r} is not a Kubernetes provider",
                "give the pulumi_kubernetes.Provider of the cluster",
            )
        )
    if has_provider and has_kubeconfig:
        issues.append(
            ConfigIssue(
                "kubeconfig",
                "both kubernetes_provider and kubeconfig are given",
                "give one: the provider you already have, or a kubeconfig to make one from",
            )
        )
    elif not (has_provider or has_kubeconfig or _has_kubernetes_provider(opts)):
        issues.append(
            ConfigIssue(
                "kubernetes_provider",
                "there is no way to reach the cluster",
                "give kubernetes_provider (your pulumi_kubernetes.Provider) or kubeconfig",
            )
        )
    if issues or topology is None or addons is None:
        raise ArgsError(issues)

    releases, placement, findings = plan_releases(addons, topology, pools, cluster_name, region, VPC_ID)
    if any(finding.level is FindingLevel.ERROR for finding in findings):
        raise PlanError(findings, subject="these add-ons")
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
    return AddonsPlan(tuple(releases), tuple(placement))


# The arg that stands in for each deploy-time placeholder a plan can hold.
DEPLOY_TIME_ARGS = {VPC_ID.name: "vpc_id", GRAFANA_ADMIN_PASSWORD.name: "grafana_admin_password"}


def deploy_time_values(args: Mapping[str, Any]) -> dict[str, pulumi.Input[Any]]:
    """The args that stand in for the plan's deploy-time placeholders, by the placeholder's name."""
    return {
        placeholder: args[arg] for placeholder, arg in DEPLOY_TIME_ARGS.items() if args.get(arg) is not None
    }


def resolve_deploy_time(tree: Any, known: Mapping[str, pulumi.Input[Any]]) -> Any:
    """Swap each DeployTime placeholder for its Output; a missing one is a bug in the caller."""
    if isinstance(tree, DeployTime):
        if tree.name not in known:
            raise KeyError(f"no deploy-time value for {tree.name!r}")
        value = known[tree.name]
        return pulumi.Output.secret(value) if tree.secret else value
    if isinstance(tree, Mapping):
        return {key: resolve_deploy_time(value, known) for key, value in tree.items()}
    if isinstance(tree, list):
        return [resolve_deploy_time(value, known) for value in tree]
    return tree
