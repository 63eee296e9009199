"""``ClusterAddons``: Armful's add-ons as Helm releases, placed for the cluster's pools.

On its own it installs on an EKS cluster you already have: give it the cluster's Kubernetes provider (or a
kubeconfig) and a description of its pools (names, role, arch, labels, taints), and every controller goes
to the system pool while every node agent reaches every pool. Inside ``ArmCluster`` it gets the stack's
pools and add-on config, so it plans the same releases the stack's plan shows.

No ``from __future__ import annotations`` here: Pulumi's component analyzer reads these annotations at
run time to infer the package schema (``plugin/``), so they must be real types, not strings.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from armful import kms
from armful.addons.context import DeployTime
from armful.addons.spec import chart_reference
from armful.component_types import ChartSourcesSpec, PoolDescription
from armful.core.errors import (
    CONFIG_NAMESPACE,
    ConfigIssue,
    StackConfigError,
    config_path,
    issues_from_pydantic,
)
from armful.core.pools import PoolPlan
from armful.core.taints import Taint
from armful.core.topology import Topology
from armful.iam import pod_identity_role
from armful.planning.chart_sources import ChartSource, ChartSourcesConfig
from armful.planning.cluster_addons_plan import (
    AddonsPlan,
    deploy_time_values,
    describe_pools,
    issues_under,
    plan_cluster_addons,
    release_order,
)
from armful.planning.component_args import ArgsError, unknown_arg_issues
from armful.planning.network_policies_plan import (
    PlannedPolicy,
    needs_vpc_cidrs,
    vpc_cidr_blocks,
    with_vpc_cidrs,
)
from armful.planning.plan import PlanError
from armful.planning.releases import ReleasePlan
from armful.planning.stack_config import decode_config_value
from armful.render.deploy_check import check_chart_files, check_charts_before_deploy
from armful.render.sources import chart_sources
from armful.run_errors import armful_errors

HELM_TIMEOUT_SECONDS = 900


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
    storage_class: NotRequired[k8s.storage.v1.StorageClass]
    """The StorageClass the add-ons' volumes use, when the same program creates it: only the releases that claim volumes (kube-prometheus-stack's Prometheus and Alertmanager) wait for it."""
    charts: NotRequired[ChartSourcesSpec]
    """Where the charts come from (mirrors, a folder of archives), their digests, and whether they are rendered and judged before any release is created (default: the stack's armful:charts)."""


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
        cluster_dns: Sequence[pulumi.Resource] = (),
        release_needs: Mapping[str, Sequence[pulumi.Resource]] | None = None,
        charts_proven: bool = False,
        log_key: aws.kms.Key | None = None,
    ) -> None:
        """``cluster_dns`` (Python only): what serves the cluster's DNS, CoreDNS, when the same program
        creates it. Every release waits for it except those whose webhooks gate the others (the load
        balancer controller): those need no DNS to become ready, and the others wait for them anyway.
        ``release_needs`` (Python only): what one release alone waits for, by release name (Karpenter's
        queue and node role). Everything in ``opts.depends_on`` is waited for by every release.
        ``charts_proven`` (Python only): the caller rendered and judged these releases' charts from the
        same sources already, before its own first registration (``ArmCluster`` does).
        ``log_key`` (Python only): the KMS key that encrypts the add-ons' log groups, whose policy lets
        CloudWatch Logs use it for them (``ArmCluster`` passes its cluster's); without it, the component
        creates one of its own when an add-on has a log group."""
        # Everything that can be wrong is found before the first registration, this component's included:
        # the charts too, rendered with the final values, unless the caller already did (ArmCluster).
        with armful_errors():
            planned = check_cluster_addons_args(args, opts, render_settles=True)
            charts = ChartSettings.of(args)
            sources = prove_charts(
                planned.releases,
                charts,
                describe_pools(args["pools"]),
                Topology(args["topology"]),
                render=charts.config.render_at_deploy and not charts_proven,
            )
            # Only a render that placed every pod (prove_charts raises otherwise) settles what an override
            # turns on beyond Armful's declarations.
            if planned.awaiting_render and not (charts_proven or charts.config.render_at_deploy):
                raise PlanError(planned.awaiting_render, subject="these add-ons")
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
        storage_class: pulumi.Resource | None = args.get("storage_class")
        known = deploy_time_values(args)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        # The region planning checked: the log group's and the cluster's ARNs in the roles name it.
        region: str = args.get("region") or pulumi.Config("aws").require("region")
        # Each namespace Armful's releases create gets its Pod Security labels before the release's first pod
        # is admitted (Helm's createNamespace cannot label). A patch, not a Namespace: server-side apply
        # creates the namespace on a new cluster and only adds the labels where an earlier release of
        # Armful let Helm create it, which a Namespace resource would refuse as already existing.
        self.namespaces: dict[str, k8s.core.v1.NamespacePatch] = {
            namespace.name: k8s.core.v1.NamespacePatch(
                f"{name}-{namespace.name}",
                metadata={"name": namespace.name, "labels": namespace.labels},
                opts=pulumi.ResourceOptions.merge(
                    inherited, pulumi.ResourceOptions(parent=self, provider=provider)
                ),
            )
            for namespace in planned.namespaces
        }
        log_groups = [plan.log_group.name for plan in ordered if plan.log_group is not None]
        if log_key is None and log_groups:
            log_key = kms.log_key(f"{name}-logs", args["cluster_name"], region, log_groups, self)
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        gates: list[pulumi.Resource] = []
        for plan in ordered:
            spec = plan.spec
            # Besides the releases it follows, a release waits for its log group, and for its Pod
            # Identity association and the role's permissions, so that its pods get working credentials.
            access: list[pulumi.Resource] = []
            if plan.log_group is not None:
                assert log_key is not None  # made above for every release with a log group
                access.append(
                    aws.cloudwatch.LogGroup(
                        f"{name}-{spec.release}",
                        name=plan.log_group.name,
                        retention_in_days=plan.log_group.retention_days,
                        kms_key_id=log_key.arn,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            identity = plan.pod_identity
            if identity is not None:
                role = pod_identity_role(
                    f"{name}-{spec.release}",
                    partition,
                    parent=self,
                    region=region,
                    cluster_name=args["cluster_name"],
                    namespace=spec.namespace,
                    identity=identity,
                    vpc_id=args.get("vpc_id"),
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
                follows = [*gates, *cluster_dns, *follows]
            if spec.namespace in self.namespaces:
                follows.append(self.namespaces[spec.namespace])
            # Only a release whose pods claim volumes waits for the StorageClass (and the CSI driver).
            if spec.claims_volumes and storage_class is not None:
                follows.append(storage_class)
            follows += (release_needs or {}).get(spec.release, ())
            chart, repository_opts = release_chart(sources[spec.release])
            self.releases[spec.release] = k8s.helm.v3.Release(
                f"{name}-{spec.release}",
                name=spec.release,
                chart=chart,
                repository_opts=repository_opts,
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
        self.network_policies = network_policy_resources(
            name, planned.network_policies, self.releases, args.get("vpc_id"), provider, inherited, self
        )
        self.release_names = pulumi.Output.from_input(list(self.releases))
        self.placement = pulumi.Output.from_input(
            {f"{entry.release}/{entry.workload}": list(entry.pools) for entry in planned.placement}
        )
        self.register_outputs({"release_names": self.release_names, "placement": self.placement})


def release_chart(source: ChartSource) -> tuple[str, dict[str, str] | None]:
    """A Helm release's ``chart`` and ``repository_opts`` for where its chart comes from: the archive's
    path, an OCI reference (the mirror's when one covers it), or a chart name in an HTTP repository."""
    if source.archive is not None:
        return source.archive, None
    assert source.repository is not None
    if source.oci:
        return chart_reference(source.chart, source.repository), None
    return source.chart, {"repo": source.repository}


@dataclass(frozen=True)
class ChartSettings:
    """The chart sources a component uses, and the prefix its messages name the settings under."""

    config: ChartSourcesConfig
    prefix: str
    """``armful:charts`` in stack config, ``charts`` for the component's own arg."""
    camel: bool
    """Stack config spells fields in camelCase, Python args in snake_case."""

    def path(self, field: str) -> str:
        """A field as the user wrote it: ``armful:charts.renderAtDeploy``, or ``charts.render_at_deploy``."""
        return f"{self.prefix}.{to_camel(field) if self.camel else field}"

    @classmethod
    def of(cls, args: Mapping[str, Any]) -> "ChartSettings":
        """The ``charts`` arg, else the stack's ``armful:charts``: chart sources belong to the machine
        that deploys, the same for every component of a program."""
        given = args.get("charts")
        if given is not None:
            try:
                return cls(ChartSourcesConfig.model_validate(dict(given)), "charts", camel=False)
            except ValidationError as error:
                raise ArgsError(issues_under("charts", error)) from None
        return cls.from_stack_config()

    @classmethod
    def from_stack_config(cls) -> "ChartSettings":
        """``armful:charts`` as the stack's config holds it, read as the stack program reads config."""
        prefix = config_path("charts")
        decoded, issue = decode_config_value(prefix, pulumi.Config(CONFIG_NAMESPACE).get("charts") or "{}")
        if issue is not None:
            raise StackConfigError([issue])
        try:
            return cls(ChartSourcesConfig.model_validate(decoded), prefix, camel=True)
        except ValidationError as error:
            # The model's paths start at armful:; these fields sit under armful:charts.
            moved = [
                ConfigIssue(
                    prefix + found.path.removeprefix(CONFIG_NAMESPACE).replace(":", ".", 1),
                    found.problem,
                    found.fix,
                )
                for found in issues_from_pydantic(error)
            ]
            raise StackConfigError(moved) from None


def prove_charts(
    releases: Sequence[ReleasePlan],
    charts: ChartSettings,
    pools: Sequence[PoolPlan],
    topology: Topology | None,
    *,
    render: bool,
) -> dict[str, ChartSource]:
    """Each release's chart source, its archive checked; with ``render``, every chart rendered with its
    final values and judged, so that the proof covers what Helm will really create. Warnings are logged;
    errors raise, before any release is registered."""
    sources = chart_sources(releases, charts.config, where=charts.path("directory"))
    check_chart_files(sources, directory=charts.path("directory"), repositories=charts.path("repositories"))
    if render:
        warnings = check_charts_before_deploy(
            releases, sources, pools, topology, switch=charts.path("render_at_deploy")
        )
        for warning in warnings:
            pulumi.log.warn(f"[{warning.code}] {warning.message}")
    return sources


def network_policy_resources(
    name: str,
    policies: Sequence[PlannedPolicy],
    releases: Mapping[str, pulumi.Resource],
    vpc_id: pulumi.Input[str] | None,
    provider: pulumi.ProviderResource | None,
    inherited: pulumi.ResourceOptions,
    parent: pulumi.Resource,
) -> list[k8s.networking.v1.NetworkPolicy]:
    """Each planned NetworkPolicy, once the release it is for has created its namespace; the VPC's CIDR
    blocks (where the control plane and the nodes are) are read from the VPC itself."""
    cidrs: pulumi.Output[list[str]] | None = None
    if needs_vpc_cidrs(policies):
        vpc = aws.ec2.get_vpc_output(id=vpc_id, opts=pulumi.InvokeOutputOptions(parent=parent))
        cidrs = vpc.apply(
            lambda found: vpc_cidr_blocks(
                found.cidr_block,
                [(block.cidr_block, block.state) for block in found.cidr_block_associations or ()],
            )
        )
    resources = []
    for policy in policies:
        spec: pulumi.Input[Any] = policy.manifest["spec"]
        if cidrs is not None:
            spec = cidrs.apply(
                lambda blocks, manifest=policy.manifest: with_vpc_cidrs(manifest, blocks)["spec"]
            )
        resources.append(
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy.namespace}-{policy.name}",
                metadata=policy.manifest["metadata"],
                spec=spec,
                opts=pulumi.ResourceOptions.merge(
                    inherited,
                    pulumi.ResourceOptions(
                        parent=parent, provider=provider, depends_on=[releases[policy.release]]
                    ),
                ),
            )
        )
    return resources


def inherited_options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """A component's ``depends_on`` and ``deleted_with``, for the children that touch the cluster.

    Pulumi gives these options to the component alone; its children would not wait for what the
    component waits for (nodes, managed add-ons) nor be deleted with the cluster unless they carry them.
    """
    if opts is None:
        return pulumi.ResourceOptions()
    return pulumi.ResourceOptions(depends_on=opts.depends_on, deleted_with=opts.deleted_with)


def eks_taints(description: Mapping[str, Any]) -> list[dict[str, str]]:
    """A pool description's taints as the EKS node group API takes them (``effect: NO_SCHEDULE``).

    Describe a pool once, in Kubernetes form, and give its node group ``taints=eks_taints(description)``.
    """
    return [Taint.from_kubernetes(taint).to_eks() for taint in description.get("taints", ())]


def _has_kubernetes_provider(opts: pulumi.ResourceOptions | None) -> bool:
    if opts is None:
        return False
    providers = opts.providers
    candidates = list(providers.values()) if isinstance(providers, Mapping) else list(providers or [])
    if opts.provider is not None:
        candidates.append(opts.provider)
    return any(getattr(provider, "package", None) == "kubernetes" for provider in candidates)


def check_cluster_addons_args(
    args: ClusterAddonsArgs | Mapping[str, Any],
    opts: pulumi.ResourceOptions | None = None,
    *,
    render_settles: bool = False,
) -> AddonsPlan:
    """Validate ClusterAddons' args, the Kubernetes provider included, and plan its releases.

    Raises ArgsError or PlanError, before anything is registered.
    """
    issues = unknown_arg_issues("ClusterAddons", args, ClusterAddonsArgs.__annotations__, "cluster_name")
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
    storage_class = args.get("storage_class")
    # Any resource: one passed by reference from another language may come back as a plain resource.
    if storage_class is not None and not isinstance(storage_class, pulumi.Resource):
        issues.append(
            ConfigIssue(
                "storage_class",
                f"{storage_class!r} is not a Kubernetes StorageClass",
                "give the pulumi_kubernetes StorageClass the add-ons' volumes use, or leave storage_class out",
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
    charts = args.get("charts")
    if charts is not None:
        try:
            ChartSourcesConfig.model_validate(dict(charts) if isinstance(charts, Mapping) else charts)
        except ValidationError as error:
            issues += issues_under("charts", error)
    region = args.get("region") or pulumi.Config("aws").get("region")
    return plan_cluster_addons(args, region, issues, render_settles=render_settles)


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
