"""``ArmCluster``: an EKS cluster with x86 / Graviton node pools for a topology, and its add-ons.

No ``from __future__ import annotations`` here: Pulumi's component analyzer reads these annotations at
run time to infer the package schema (``plugin/``), so they must be real types, not strings.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pulumi_random as random

from armful.addons.eks_managed import (
    COREDNS,
    EBS_CSI_DRIVER,
    KUBE_PROXY,
    POD_IDENTITY,
    VPC_CNI,
    ManagedAddonSpec,
)
from armful.cluster_addons import ChartSettings, ClusterAddons, prove_charts
from armful.component_types import (
    ChartSourcesSpec,
    ClusterSpec,
    NetworkSpec,
    PoolInfo,
    PoolSpec,
    WorkloadSpec,
)
from armful.core.config import role_of_assumed_role
from armful.core.errors import CONFIG_NAMESPACE, ConfigIssue, StackConfigError, config_path, raise_if_any
from armful.core.findings import FindingLevel
from armful.core.karpenter_objects import DISCOVERY_TAG
from armful.eks_managed_addons import EksManagedAddons, addon_version
from armful.iam import is_listed_principal
from armful.karpenter import Karpenter, KarpenterNodePools
from armful.kms import log_key, secrets_key
from armful.network import Network
from armful.node_pools import NodePools
from armful.planning.plan import Plan, PlanError, build_plan
from armful.planning.releases import ReleaseFinding, placeholders
from armful.planning.stack_config import SECRET_CONFIG_KEYS, StackConfig, parse_stack_config, region_issues
from armful.planning.value_rules import ARMFUL_STORAGE_CLASS
from armful.run_errors import armful_errors

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# EKS writes control-plane logs to /aws/eks/<cluster>/cluster and, if that group does not exist, creates
# it with logs kept forever. Armful creates it first, with this retention.
CONTROL_PLANE_LOG_RETENTION_DAYS = 90
DEFAULT_STORAGE_CLASS = ARMFUL_STORAGE_CLASS
# A secret Armful generates when none is given: letters and digits only, so it needs no quoting anywhere.
GENERATED_SECRET_LENGTH = 32
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
ACCESS_ENTRY_TYPE = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY_ASSOCIATION_TYPE = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
EKS_CLUSTER_TYPE = "aws:eks/cluster:Cluster"
CLUSTER_ADMIN_ASSOCIATION = "cluster-admin"
VOLUME_CLUSTER_TAG = "armful.dev/cluster"
"""The tag every EBS volume made from Armful's StorageClass carries, with the cluster's name."""


class ArmClusterArgs(TypedDict):
    topology: str
    """arm-workers, all-arm or mixed: which architecture each role's pools may have."""
    cluster: ClusterSpec
    """The EKS control plane: name, Kubernetes version, endpoint access, admins."""
    system_pool: PoolSpec
    """The pool for cluster-critical add-ons, tainted CriticalAddonsOnly."""
    worker_pools: NotRequired[Sequence[PoolSpec]]
    """The pools that run applications: at least one, unless Karpenter's NodePools run them."""
    network: NotRequired[NetworkSpec]
    """The VPC: leave out to let Armful create one."""
    preferred_arch: NotRequired[str]
    """mixed only: arm64 (default) or amd64; pools of the other arch take only pods that opt in."""
    region: NotRequired[str]
    """The AWS region; defaults to the stack's aws:region."""
    addons: NotRequired[dict[str, Any]]
    """Per add-on (camelCase key, e.g. certManager): enabled, values overrides and its options."""
    workloads: NotRequired[Sequence[WorkloadSpec]]
    """Your own applications, so the plan shows where they land and what they need."""
    grafana_admin_password: NotRequired[pulumi.Input[str]]
    """Grafana's admin password, kept secret (default: the stack's armful:grafanaAdminPassword secret)."""
    charts: NotRequired[ChartSourcesSpec]
    """Where the add-ons' Helm charts come from (mirrors, a folder of archives), their digests, and whether pulumi preview and up render them first."""


class ArmCluster(pulumi.ComponentResource):
    """A production EKS cluster on AWS Graviton: a VPC (or yours), the control plane, x86 or Graviton node pools by topology, EKS managed add-ons and Armful's Helm add-ons placed for the pools. Config and placement errors stop it before anything is created."""

    cluster_name: pulumi.Output[str]
    """The EKS cluster's name, known once the cluster exists."""
    endpoint: pulumi.Output[str]
    """The API server's URL."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig JSON for the cluster (secret)."""
    oidc_provider_arn: pulumi.Output[str]
    """The cluster's IAM OIDC provider."""
    oidc_provider_url: pulumi.Output[str]
    """The cluster's OIDC issuer, without https://."""
    vpc_id: pulumi.Output[str]
    """The cluster's VPC: the one Armful created or the one given."""
    pools: pulumi.Output[list[PoolInfo]]
    """Each pool's name, role, arch, labels and taints (Kubernetes form)."""
    instance_types: pulumi.Output[dict[str, list[str]]]
    """Each pool's EC2 instance types, by pool name."""
    zone_ids: pulumi.Output[list[str]]
    """The AZ IDs of the VPC Armful created, in order (network.zoneIds keeps them); empty for a VPC given."""
    grafana_admin_password: pulumi.Output[str]
    """Grafana's admin password (secret): the one given, or the one Armful generated; empty while kubePrometheusStack is disabled."""

    def __init__(self, name: str, args: ArmClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Everything that can be wrong is found before the first registration, this component's included:
        # the add-ons' charts too, rendered with their final values (ClusterAddons is told they were).
        with armful_errors():
            self.plan: Plan = plan_arm_cluster(args, render_settles=True)
            charts = (
                ChartSettings(self.plan.config.charts, config_path("charts"), camel=True)
                if args.get("charts") is not None
                else ChartSettings.from_stack_config()
            )
            prove_charts(
                self.plan.releases,
                charts,
                self.plan.pools,
                self.plan.topology,
                render=charts.config.render_at_deploy,
            )
            # Every chart rendered and every pod it renders placed (prove_charts raises otherwise): what an
            # override turns on beyond Armful's declarations is proven to land where it should.
            if charts.config.render_at_deploy:
                self.plan = self.plan.proven_by_render(
                    {release.spec.release for release in self.plan.releases}
                )
            if self.plan.has_errors:
                raise PlanError(self.plan.findings)
        given_secrets = required_secrets(self.plan, args)
        super().__init__("armful:index:ArmCluster", name, None, opts)
        config = self.plan.config
        cluster_config = config.cluster
        if not cluster_config.bootstrap_creator_admin:
            # Checked before anything is created: the add-ons are installed through the API server as the
            # caller, who without EKS's creator entry is an admin only if listed.
            caller = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).arn
            with armful_errors():
                check_deployer_is_admin(caller, cluster_config.admin_principal_arns)
        # A secret nobody set is generated once and kept in the state (encrypted), like any other.
        secrets: dict[str, pulumi.Output[str]] = {
            secret: pulumi.Output.secret(
                value
                if value is not None
                else random.RandomPassword(
                    f"{name}-{secret.replace('_', '-')}",
                    length=GENERATED_SECRET_LENGTH,
                    special=False,
                    opts=pulumi.ResourceOptions(parent=self),
                ).result
            )
            for secret, value in given_secrets.items()
        }
        self.grafana_admin_password = secrets.get("grafana_admin_password") or pulumi.Output.secret("")

        key = secrets_key(f"{name}-secrets", cluster_config.name, self)
        # One log key for every log group of the cluster: EKS's control-plane group and the add-ons'.
        log_groups = [
            control_plane_log_group(cluster_config.name),
            *(release.log_group.name for release in self.plan.releases if release.log_group is not None),
        ]
        logs_key = log_key(f"{name}-logs", cluster_config.name, self.plan.region, log_groups, self)

        network = config.network
        if network.creates_vpc:
            vpc = Network(
                f"{name}-network",
                {
                    "cluster_name": cluster_config.name,
                    "cidr": str(network.cidr),
                    "availability_zones": network.availability_zones,
                    "single_nat_gateway": network.single_nat_gateway,
                    **({"zone_ids": list(network.zone_ids)} if network.zone_ids else {}),
                    **(
                        {"private_subnet_tags": {DISCOVERY_TAG: cluster_config.name}}
                        if self.plan.node_pools
                        else {}
                    ),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            vpc_id, private_subnets, public_subnets = (
                vpc.vpc_id,
                vpc.private_subnet_ids,
                vpc.public_subnet_ids,
            )
            # Nodes join EKS and pull images through NAT: their groups wait for the routes out.
            egress: list[pulumi.Resource] = vpc.egress
            self.zone_ids = vpc.zone_ids
        else:
            vpc_id = pulumi.Output.from_input(network.vpc_id)
            private_subnets = pulumi.Output.from_input(network.private_subnet_ids)
            public_subnets = pulumi.Output.from_input(network.public_subnet_ids or None)
            egress = []
            self.zone_ids = pulumi.Output.from_input([])

        control_plane_logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group(cluster_config.name),
            retention_in_days=CONTROL_PLANE_LOG_RETENTION_DAYS,
            kms_key_id=logs_key.arn,
            tags=cluster_config.tags or None,
            opts=pulumi.ResourceOptions(parent=self),
        )

        endpoint = cluster_config.endpoint
        self.cluster = eks.Cluster(
            f"{name}-eks",
            name=cluster_config.name,
            version=cluster_config.kubernetes_version,
            vpc_id=vpc_id,
            private_subnet_ids=private_subnets,
            public_subnet_ids=public_subnets,
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=endpoint.public_access,
            public_access_cidrs=[str(cidr) for cidr in endpoint.public_access_cidrs] or None,
            authentication_mode=eks.AuthenticationMode.API,
            # Keyed by principal: pulumi-eks names each entry after its key, so adding, removing or
            # reordering admins renames no other entry (EKS takes one entry per principal, and replacing
            # one under a new name fails on the entry that still exists).
            access_entries={
                access_entry_key(arn): {
                    "principal_arn": arn,
                    "access_policies": {
                        CLUSTER_ADMIN_ASSOCIATION: {
                            "policy_arn": CLUSTER_ADMIN_POLICY,
                            "access_scope": {"type": "cluster"},
                        }
                    },
                }
                for arn in cluster_config.admin_principal_arns
            },
            encryption_config_key_arn=key.arn,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            # EKS's own default is EXTENDED: a cluster left on an old version is billed for extended
            # support without asking. STANDARD upgrades it at the end of standard support instead.
            upgrade_policy={
                "support_type": "EXTENDED" if cluster_config.allow_extended_support else "STANDARD"
            },
            skip_default_node_group=True,
            create_instance_role=False,
            create_oidc_provider=True,
            # pulumi-eks only makes CoreDNS a managed add-on with its default node group; Armful creates
            # it after the system pool exists, placed there.
            coredns_addon_options={"enabled": False},
            # Left alone, pulumi-eks installs these at the newest version, so any `pulumi up` after AWS
            # publishes one rolls the CNI on every node. EKS's default for the Kubernetes version (or the
            # version pinned) moves only with the cluster.
            # With network policies on, the VPC CNI's configuration values turn its policy agent on.
            vpc_cni_options={
                "addon_version": self._managed_addon_version(VPC_CNI),
                **self._configuration_values(VPC_CNI),
            },
            kube_proxy_addon_options={"version": self._managed_addon_version(KUBE_PROXY)},
            deletion_protection=cluster_config.deletion_protection,
            tags=cluster_config.tags or None,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=True,
                depends_on=[control_plane_logs],
                transforms=[
                    former_access_entry_names_transform(f"{name}-eks", cluster_config.admin_principal_arns),
                    creator_admin_transform(cluster_config.bootstrap_creator_admin),
                ],
            ),
        )

        self.node_pools = NodePools(
            f"{name}-pools",
            {
                "cluster": self.cluster,
                "subnet_ids": private_subnets,
                "topology": config.topology.value,
                **({"preferred_arch": config.preferred_arch.value} if config.preferred_arch else {}),
                "system_pool": config.system_pool.model_dump(),
                "worker_pools": [pool.model_dump() for pool in config.worker_pools],
                **(
                    {"elastic_worker_arches": sorted({pool.arch.value for pool in self.plan.node_pools})}
                    if self.plan.node_pools
                    else {}
                ),
                "kubernetes_version": cluster_config.kubernetes_version,
                "node_ami_release": cluster_config.node_ami_release.value,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=egress),
        )
        node_groups = list(self.node_pools.node_groups.values())
        # pulumi-eks hands the aws.eks.Cluster back only as a resource reference; the kubeconfig it
        # writes once the cluster exists carries the same facts as plain values.
        self.cluster_name = self.cluster.kubeconfig_json.apply(lambda _: cluster_config.name)
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.endpoint = self.cluster.kubeconfig_json.apply(endpoint_of_kubeconfig)
        self.managed_addons = EksManagedAddons(
            f"{name}-managed-addons",
            {
                "cluster_name": self.cluster_name,
                "kubernetes_version": cluster_config.kubernetes_version,
                "pools": self.node_pools.pool_descriptions,
                "addons": config.addons.managed_args(),
            },
            # CoreDNS and the EBS CSI controller wait for nodes, or EKS reports them degraded.
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups),
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.cluster.kubeconfig_json,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_cluster = pulumi.ResourceOptions(
            parent=self, provider=self.kubernetes_provider, deleted_with=self.cluster
        )
        managed = self.managed_addons.addons
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={
                "name": DEFAULT_STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            # Every volume is tagged with the cluster, so the ones that outlive it are found by tag.
            parameters={
                "type": "gp3",
                "encrypted": "true",
                "tagSpecification_1": f"{VOLUME_CLUSTER_TAG}={cluster_config.name}",
            },
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions.merge(
                in_cluster, pulumi.ResourceOptions(depends_on=[managed[EBS_CSI_DRIVER.name]])
            ),
        )
        karpenter_needs: dict[str, list[pulumi.Resource]] = {}
        if self.plan.node_pools:
            self.karpenter: Karpenter | None = Karpenter(
                f"{name}-karpenter",
                {
                    "cluster_name": self.cluster_name,
                    **(
                        {
                            "private_subnet_ids": private_subnets,
                            "private_subnet_count": len(network.private_subnet_ids),
                        }
                        if not network.creates_vpc
                        else {}
                    ),
                    **({"tags": cluster_config.tags} if cluster_config.tags else {}),
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            karpenter_needs["karpenter"] = self.karpenter.ready
        else:
            self.karpenter = None
        self.addons = ClusterAddons(
            f"{name}-addons",
            {
                "cluster_name": cluster_config.name,
                "region": self.plan.region,
                "vpc_id": vpc_id,
                "kubernetes_provider": self.kubernetes_provider,
                "topology": config.topology.value,
                "pools": [
                    *self.node_pools.pool_descriptions,
                    *(node_pool.as_pool().description() for node_pool in self.plan.node_pools),
                ],
                "addons": config.addons.helm_args(),
                # Only the releases that claim volumes wait for it, and through it for the EBS CSI driver.
                "storage_class": storage_class,
                "charts": charts.config.model_dump(exclude_none=True),
                **secrets,
            },
            # Every release waits for the nodes and for the Pod Identity agent its credentials come from;
            # all but the load balancer controller (which needs no DNS, and which the others wait for)
            # for CoreDNS. They are deleted with the cluster rather than one by one.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*node_groups, managed[POD_IDENTITY.name]],
                deleted_with=self.cluster,
            ),
            cluster_dns=[managed[COREDNS.name]],
            release_needs=karpenter_needs,
            charts_proven=True,
            log_key=logs_key,
        )
        if self.karpenter is not None:
            KarpenterNodePools(
                f"{name}-karpenter",
                {
                    "cluster_name": cluster_config.name,
                    "node_role_name": self.karpenter.node_role_name,
                    "kubernetes_version": cluster_config.kubernetes_version,
                    "node_ami_release": cluster_config.node_ami_release.value,
                    "kubernetes_provider": self.kubernetes_provider,
                    **({"tags": cluster_config.tags} if cluster_config.tags else {}),
                },
                # After the release, whose CRDs they are; deleted before it, so the controller drains and
                # terminates its nodes while it still runs.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.addons.releases["karpenter"]]),
                node_pools=self.plan.node_pools,
                published_release=self.node_pools.published_release,
            )

        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_provider_url = self.cluster.oidc_provider_url
        self.pools = self.node_pools.pools
        self.instance_types = self.node_pools.instance_types
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_provider_url": self.oidc_provider_url,
                "vpc_id": self.vpc_id,
                "pools": self.pools,
                "instance_types": self.instance_types,
                "zone_ids": self.zone_ids,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )

    def _configuration_values(self, spec: ManagedAddonSpec) -> dict[str, Any]:
        """The planned configuration values of an add-on the cluster creates, as pulumi-eks takes them."""
        values = next(addon for addon in self.plan.managed_addons if addon.spec == spec).configuration_values
        return {"configuration_values": values} if values else {}

    def _managed_addon_version(self, spec: ManagedAddonSpec) -> pulumi.Input[str]:
        """The version of an add-on the cluster creates: the one pinned, else EKS's default for the
        cluster's Kubernetes version (never the newest)."""
        config = self.plan.config
        return addon_version(
            spec.name, config.addons.managed_version(spec), config.cluster.kubernetes_version, self
        )


def access_entry_key(principal_arn: str) -> str:
    """An admin's key among the cluster's access entries: its principal's ARN, without the ``::`` that
    Pulumi URNs use as their separator (pulumi-eks puts the key in the entry's resource name)."""
    return principal_arn.replace("::", ":")


def former_access_entry_names_transform(
    cluster_resource: str, admin_principal_arns: Sequence[str]
) -> pulumi.ResourceTransform:
    """Alias each admin's access entry, and its policy association, to the name it had when entries were
    keyed ``admin-<index>``, so that stacks made then rename them in the state instead of replacing them
    (the replacement fails: EKS already has an entry for the principal). It holds for admins still listed
    in the order they were; reorder them in a later run."""
    former: dict[str, str] = {}
    for index, arn in enumerate(admin_principal_arns):
        now, then = f"{cluster_resource}-{access_entry_key(arn)}", f"{cluster_resource}-admin-{index}"
        former[now] = then
        former[f"{now}-{CLUSTER_ADMIN_ASSOCIATION}"] = f"{then}-{CLUSTER_ADMIN_ASSOCIATION}"

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ not in (ACCESS_ENTRY_TYPE, ACCESS_POLICY_ASSOCIATION_TYPE) or args.name not in former:
            return None
        alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=former[args.name])])
        return pulumi.ResourceTransformResult(
            props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, alias)
        )

    return transform


def creator_admin_transform(enabled: bool) -> pulumi.ResourceTransform:
    """Set whether EKS makes the cluster's creator an admin (``accessConfig.bootstrapClusterCreator
    AdminPermissions``), which pulumi-eks always sets true on the ``aws.eks.Cluster`` it creates. EKS reads
    it only at creation, and pulumi-eks ignores its changes: a cluster created with it keeps its
    creator's entry until someone deletes it."""

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != EKS_CLUSTER_TYPE:
            return None
        access = {
            **(args.props.get("accessConfig") or {}),
            "bootstrapClusterCreatorAdminPermissions": enabled,
        }
        return pulumi.ResourceTransformResult(props={**args.props, "accessConfig": access}, opts=args.opts)

    return transform


def check_deployer_is_admin(caller_arn: str, admin_principal_arns: Sequence[str]) -> None:
    """Refuse a deployer that would not be an admin of the cluster it creates and installs add-ons on."""
    if is_listed_principal(caller_arn, admin_principal_arns):
        return
    role = role_of_assumed_role(caller_arn)
    principal = f"its role {role} (with the role's path, if it has one)" if role else caller_arn
    raise StackConfigError(
        [
            ConfigIssue(
                f"{CONFIG_NAMESPACE}:cluster.adminPrincipalArns",
                f"pulumi up runs as {caller_arn}, which is not in adminPrincipalArns, and bootstrapCreatorAdmin "
                "is false, so it could not install the add-ons through the cluster's API server",
                f"add {principal} to adminPrincipalArns, or set cluster.bootstrapCreatorAdmin: true (for a "
                "cluster an earlier Armful created, whose creator EKS made an admin then, true changes nothing)",
            )
        ]
    )


# Args that are not stack config: the region Pulumi's aws:region stands for, and secrets.
_NOT_CONFIG = frozenset({"region", *SECRET_CONFIG_KEYS})


def plan_arm_cluster(args: ArmClusterArgs | Mapping[str, Any], *, render_settles: bool = False) -> Plan:
    """Validate the args as stack config and plan them; raises on any config error or error finding.

    The same checks as ``armful plan`` and the stack program's config reader, region included. With
    ``render_settles``, error findings a render of the charts can settle (an override that turns on a
    workload Armful does not declare) are left for that render to judge."""
    fields = {key: value for key, value in args.items() if key not in _NOT_CONFIG}
    region = args.get("region") or pulumi.Config("aws").get("region") or ""
    issues: list[ConfigIssue] = []
    config: StackConfig | None = None
    try:
        config = parse_stack_config(fields)
    except StackConfigError as error:
        issues += error.issues
    issues += region_issues(region, config)
    raise_if_any(issues)
    assert config is not None
    plan = build_plan(pulumi.get_stack(), config, region)
    unsettled = [
        finding
        for finding in plan.findings
        if finding.level is FindingLevel.ERROR
        and not (render_settles and isinstance(finding, ReleaseFinding) and finding.settled)
    ]
    if unsettled:
        raise PlanError(plan.findings)
    return plan


def required_secrets(
    plan: Plan, args: ArmClusterArgs | Mapping[str, Any] | None = None
) -> dict[str, pulumi.Input[str] | None]:
    """The secret values the plan's releases use: from the args, else from stack config (``--secret``),
    else None (``ArmCluster`` generates it)."""
    wanted = {placeholder for release in plan.releases for placeholder in placeholders(release.values)}
    config = pulumi.Config(CONFIG_NAMESPACE)
    given = args or {}
    return {
        placeholder.name: (
            given[placeholder.name]
            if given.get(placeholder.name) is not None
            else config.get_secret(SECRET_CONFIG_KEYS[placeholder.name])
        )
        for placeholder in sorted(wanted, key=lambda placeholder: placeholder.name)
        if placeholder.secret
    }


def control_plane_log_group(cluster_name: str) -> str:
    """The CloudWatch log group EKS writes a cluster's control-plane logs to."""
    return f"/aws/eks/{cluster_name}/cluster"


def endpoint_of_kubeconfig(kubeconfig_json: str) -> str:
    return json.loads(kubeconfig_json)["clusters"][0]["cluster"]["server"]
