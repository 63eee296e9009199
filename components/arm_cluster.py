"""``ArmCluster``: an EKS cluster with x86 / Graviton node pools for a topology, ready for add-ons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.addons.context import VPC_ID
from components.addons.releases import placeholders
from components.cluster_addons import ClusterAddons
from components.core.config import SECRET_CONFIG_KEYS, parse_stack_config
from components.core.errors import CONFIG_NAMESPACE
from components.core.plan import Plan, build_plan
from components.eks_managed_addons import EksManagedAddons
from components.network import Network
from components.node_pools import NodePools, PoolArgs

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
DEFAULT_STORAGE_CLASS = "gp3"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


class PlanError(ValueError):
    """The plan has error findings: something would be stranded, on the wrong arch or miss a pool."""

    def __init__(self, plan: Plan) -> None:
        errors = [f"  - [{f.code}] {f.message}" for f in plan.findings if f.level.value == "error"]
        super().__init__("Armful will not create this stack; the plan has errors:\n" + "\n".join(errors))


class EndpointArgs(TypedDict):
    public_access_cidrs: NotRequired[Sequence[str]]
    """CIDRs allowed to reach the public API endpoint; empty (default) turns the public endpoint off."""
    allow_public_internet: NotRequired[bool]
    """Must be true for public_access_cidrs to contain 0.0.0.0/0."""


class ClusterArgs(TypedDict):
    name: str
    """The EKS cluster's name."""
    kubernetes_version: NotRequired[str]
    """A Kubernetes minor version in EKS standard support (default 1.35)."""
    allow_extended_support: NotRequired[bool]
    endpoint: NotRequired[EndpointArgs]
    admin_principal_arns: NotRequired[Sequence[str]]
    """IAM roles or users given cluster-admin through EKS access entries."""
    deletion_protection: NotRequired[bool]
    tags: NotRequired[dict[str, str]]


class WorkloadArgs(TypedDict):
    name: str
    images: Sequence[str]
    arches: NotRequired[Sequence[str]]
    """amd64 and/or arm64: the arches every image has."""


class NetworkConfigArgs(TypedDict):
    vpc_id: NotRequired[str]
    """An existing VPC; leave out to let Armful create one."""
    private_subnet_ids: NotRequired[Sequence[str]]
    public_subnet_ids: NotRequired[Sequence[str]]
    cidr: NotRequired[str]
    availability_zones: NotRequired[int]
    single_nat_gateway: NotRequired[bool]


class ArmClusterArgs(TypedDict):
    topology: str
    """arm-workers, all-arm or mixed."""
    cluster: ClusterArgs
    system_pool: PoolArgs
    worker_pools: Sequence[PoolArgs]
    network: NotRequired[NetworkConfigArgs]
    preferred_arch: NotRequired[str]
    """mixed only: arm64 (default) or amd64."""
    region: NotRequired[str]
    """The AWS region; defaults to the stack's aws:region."""
    addons: NotRequired[dict[str, Any]]
    """Per add-on (camelCase key, e.g. certManager): enabled, values overrides and its options."""
    workloads: NotRequired[Sequence[WorkloadArgs]]
    """Your own applications, so the plan shows where they land and what they need."""


class ArmCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Kubeconfig JSON for the cluster (secret)."""
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    pools: pulumi.Output[list[dict[str, Any]]]
    """Each pool's name, role, arch, instance types, labels and taints."""

    def __init__(self, name: str, args: ArmClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Everything that can be wrong is found before the first registration, this component's included.
        self.plan: Plan = plan_arm_cluster(args)
        secrets = required_secrets(self.plan)
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
            skip_default_node_group=True,
            create_instance_role=False,
            create_oidc_provider=True,
            # pulumi-eks only makes CoreDNS a managed add-on with its default node group; Armful creates
            # it after the system pool exists, placed there.
            coredns_addon_options={"enabled": False},
            deletion_protection=cluster_config.deletion_protection,
            tags=cluster_config.tags or None,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

        self.node_pools = NodePools(
            f"{name}-pools",
            {
                "cluster": self.cluster,
                "subnet_ids": private_subnets,
                "topology": config.topology.value,
                "system_pool": config.system_pool.model_dump(),
                "worker_pools": [pool.model_dump() for pool in config.worker_pools],
            },
            planned_pools=self.plan.pools,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # pulumi-eks hands the aws.eks.Cluster back only as a resource reference; the kubeconfig it
        # writes once the cluster exists carries the same facts as plain values.
        self.cluster_name = self.cluster.kubeconfig_json.apply(lambda _: cluster_config.name)
        self.vpc_id = vpc_id
        self.endpoint = self.cluster.kubeconfig_json.apply(endpoint_of_kubeconfig)
        self.managed_addons = EksManagedAddons(
            f"{name}-managed-addons",
            {"cluster_name": self.cluster_name, "kubernetes_version": cluster_config.kubernetes_version},
            pools=self.plan.pools,
            node_groups=list(self.node_pools.node_groups.values()),
            opts=pulumi.ResourceOptions(parent=self),
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
                "cluster_name": self.cluster_name,
                "deploy_time_values": {**secrets, VPC_ID.name: vpc_id},
            },
            releases=self.plan.releases,
            provider=self.kubernetes_provider,
            wait_for=[*self.node_pools.node_groups.values(), self.managed_addons, storage_class],
            deleted_with=self.cluster,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig_json)
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_provider_url = self.cluster.oidc_provider_url
        self.pools = self.node_pools.pools
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_provider_url": self.oidc_provider_url,
                "pools": self.pools,
            }
        )


def plan_arm_cluster(args: ArmClusterArgs | dict[str, Any]) -> Plan:
    """Validate the args as stack config and plan them; raises on any config error or error finding."""
    fields = {key: value for key, value in args.items() if key != "region"}
    region = args.get("region") or pulumi.Config("aws").get("region") or ""
    plan = build_plan(pulumi.get_stack(), parse_stack_config(fields), region)
    if plan.has_errors:
        raise PlanError(plan)
    return plan


def required_secrets(plan: Plan) -> dict[str, pulumi.Output[str]]:
    """The secret values the plan's releases use, read from stack config (``pulumi config set --secret``)."""
    wanted = {placeholder for release in plan.releases for placeholder in placeholders(release.values)}
    config = pulumi.Config(CONFIG_NAMESPACE)
    return {
        placeholder.name: config.require_secret(SECRET_CONFIG_KEYS[placeholder.name])
        for placeholder in wanted
        if placeholder.secret
    }


def endpoint_of_kubeconfig(kubeconfig_json: str) -> str:
    return json.loads(kubeconfig_json)["clusters"][0]["cluster"]["server"]
