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

from armful.cluster_addons import ClusterAddons
from armful.component_types import ClusterSpec, NetworkSpec, PoolInfo, PoolSpec, WorkloadSpec
from armful.core.errors import CONFIG_NAMESPACE
from armful.eks_managed_addons import EksManagedAddons
from armful.network import Network
from armful.node_pools import NodePools
from armful.planning.plan import Plan, PlanError, build_plan
from armful.planning.releases import placeholders
from armful.planning.stack_config import SECRET_CONFIG_KEYS, parse_stack_config

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# EKS writes control-plane logs to /aws/eks/<cluster>/cluster and, if that group does not exist, creates
# it with logs kept forever. Armful creates it first, with this retention.
CONTROL_PLANE_LOG_RETENTION_DAYS = 90
DEFAULT_STORAGE_CLASS = "gp3"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


class ArmClusterArgs(TypedDict):
    topology: str
    """arm-workers, all-arm or mixed: which architecture each role's pools may have."""
    cluster: ClusterSpec
    """The EKS control plane: name, Kubernetes version, endpoint access, admins."""
    system_pool: PoolSpec
    """The pool for cluster-critical add-ons, tainted CriticalAddonsOnly."""
    worker_pools: Sequence[PoolSpec]
    """The pools that run applications."""
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

    def __init__(self, name: str, args: ArmClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Everything that can be wrong is found before the first registration, this component's included.
        self.plan: Plan = plan_arm_cluster(args)
        secrets = required_secrets(self.plan, args)
        super().__init__("armful:index:ArmCluster", name, None, opts)
        config = self.plan.config
        cluster_config = config.cluster

        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cluster_config.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

        network = config.network
        if network.creates_vpc:
            vpc = Network(
                f"{name}-network",
                {
                    "cluster_name": cluster_config.name,
                    "cidr": str(network.cidr),
                    "availability_zones": network.availability_zones,
                    "single_nat_gateway": network.single_nat_gateway,
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            vpc_id, private_subnets, public_subnets = (
                vpc.vpc_id,
                vpc.private_subnet_ids,
                vpc.public_subnet_ids,
            )
        else:
            vpc_id = pulumi.Output.from_input(network.vpc_id)
            private_subnets = pulumi.Output.from_input(network.private_subnet_ids)
            public_subnets = pulumi.Output.from_input(network.public_subnet_ids or None)

        control_plane_logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group(cluster_config.name),
            retention_in_days=CONTROL_PLANE_LOG_RETENTION_DAYS,
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
            access_entries={
                f"admin-{index}": {
                    "principal_arn": arn,
                    "access_policies": {
                        "cluster-admin": {
                            "policy_arn": CLUSTER_ADMIN_POLICY,
                            "access_scope": {"type": "cluster"},
                        }
                    },
                }
                for index, arn in enumerate(cluster_config.admin_principal_arns)
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
            deletion_protection=cluster_config.deletion_protection,
            tags=cluster_config.tags or None,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[control_plane_logs]),
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
            },
            opts=pulumi.ResourceOptions(parent=self),
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
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata={
                "name": DEFAULT_STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions.merge(
                in_cluster, pulumi.ResourceOptions(depends_on=[self.managed_addons])
            ),
        )
        self.addons = ClusterAddons(
            f"{name}-addons",
            {
                "cluster_name": cluster_config.name,
                "region": self.plan.region,
                "vpc_id": vpc_id,
                "kubernetes_provider": self.kubernetes_provider,
                "topology": config.topology.value,
                "pools": self.node_pools.pool_descriptions,
                "addons": config.addons.helm_args(),
                **secrets,
            },
            # The releases wait for nodes, the managed add-ons and the default StorageClass, and are
            # deleted with the cluster rather than one by one.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*node_groups, self.managed_addons, storage_class],
                deleted_with=self.cluster,
            ),
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
            }
        )


# Args that are not stack config: the region Pulumi's aws:region stands for, and secrets.
_NOT_CONFIG = frozenset({"region", *SECRET_CONFIG_KEYS})


def plan_arm_cluster(args: ArmClusterArgs | Mapping[str, Any]) -> Plan:
    """Validate the args as stack config and plan them; raises on any config error or error finding."""
    fields = {key: value for key, value in args.items() if key not in _NOT_CONFIG}
    region = args.get("region") or pulumi.Config("aws").get("region") or ""
    plan = build_plan(pulumi.get_stack(), parse_stack_config(fields), region)
    if plan.has_errors:
        raise PlanError(plan.findings)
    return plan


def required_secrets(
    plan: Plan, args: ArmClusterArgs | Mapping[str, Any] | None = None
) -> dict[str, pulumi.Input[str]]:
    """The secret values the plan's releases use: from the args, else from stack config (``--secret``)."""
    wanted = {placeholder for release in plan.releases for placeholder in placeholders(release.values)}
    config = pulumi.Config(CONFIG_NAMESPACE)
    given = args or {}
    return {
        placeholder.name: (
            given[placeholder.name]
            if given.get(placeholder.name) is not None
            else config.require_secret(SECRET_CONFIG_KEYS[placeholder.name])
        )
        for placeholder in wanted
        if placeholder.secret
    }


def control_plane_log_group(cluster_name: str) -> str:
    """The CloudWatch log group EKS writes a cluster's control-plane logs to."""
    return f"/aws/eks/{cluster_name}/cluster"


def endpoint_of_kubeconfig(kubeconfig_json: str) -> str:
    return json.loads(kubeconfig_json)["clusters"][0]["cluster"]["server"]
