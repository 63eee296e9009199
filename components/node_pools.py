"""``NodePools``: one EKS managed node group per planned pool, labelled and tainted by topology.

No ``from __future__ import annotations`` here: Pulumi's component analyzer reads these annotations at
run time to infer the package schema (``plugin/``), so they must be real types, not strings.
"""

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

from armful.cluster_addons import inherited_options
from armful.component_types import PoolInfo, PoolSpec
from armful.core.pool_planner import check_ec2_architectures, check_ec2_figures
from armful.core.pools import NodeAmiRelease, PoolPlan
from armful.iam import RoleWithPolicies, node_role
from armful.planning.node_pools_plan import plan_node_pools
from armful.run_errors import armful_errors, refusing

NODE_GROUP_TYPE = "aws:eks/nodeGroup:NodeGroup"
RELEASE_VERSION = "releaseVersion"
"""The node group's AMI release, as the engine names the input (ignore_changes takes its name)."""


class NodePoolsArgs(TypedDict):
    cluster: eks.Cluster
    """The EKS cluster (pulumi_eks.Cluster) the pools join."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets for the nodes, in at least two AZs."""
    topology: str
    """arm-workers, all-arm or mixed: which architecture each role's pools may have."""
    system_pool: PoolSpec
    """The pool for cluster-critical add-ons, tainted CriticalAddonsOnly."""
    worker_pools: NotRequired[Sequence[PoolSpec]]
    """The pools that run applications: at least one, unless Karpenter's NodePools run them."""
    elastic_worker_arches: NotRequired[Sequence[str]]
    """The arches of worker capacity besides these node groups, such as Karpenter NodePools: they count toward the topology's worker arches."""
    preferred_arch: NotRequired[str]
    """mixed only: arm64 (default) or amd64; pools of the other arch take only pods that opt in."""
    kubernetes_version: NotRequired[str]
    """The cluster's Kubernetes minor version: every node group runs it, with the AMI release EKS publishes for it, and follows it when it changes. Without it EKS picks the version at creation and the nodes keep it."""
    node_ami_release: NotRequired[str]
    """pinned (default): each node group keeps the AMI release it was created with until kubernetesVersion changes (or a launch template change replaces its nodes); latest: every pulumi up moves the node groups to the newest release EKS publishes for their AMI type, replacing their nodes when it changes."""


class NodePools(pulumi.ComponentResource):
    """One EKS managed node group per pool of a topology, on a pulumi_eks cluster you already have: one architecture per pool, an explicit AMI type, Armful's labels and taints, IMDSv2 required, encrypted volumes."""

    pools: pulumi.Output[list[PoolInfo]]
    """Each pool's name, role, arch, labels and taints (Kubernetes form)."""
    instance_types: pulumi.Output[dict[str, list[str]]]
    """Each pool's EC2 instance types, by pool name."""
    node_role_arn: pulumi.Output[str]
    """The IAM role every node assumes."""

    def __init__(self, name: str, args: NodePoolsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Validation first: a wrong pool registers nothing, not even this component.
        with armful_errors():
            self.planned_pools: tuple[PoolPlan, ...] = plan_node_pools(args)
        super().__init__("armful:index:NodePools", name, None, opts)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        role = node_role(f"{name}-node-role", partition, parent=self)

        # The node groups wait for what this component waits for (a new VPC's routes through NAT).
        inherited = inherited_options(opts)
        self._releases: dict[str, pulumi.Output[str]] = {}
        self.node_groups: dict[str, eks.ManagedNodeGroup] = {
            pool.name: self._node_group(name, pool, args, role, inherited) for pool in self.planned_pools
        }
        # The pools as plain values, ready to be ClusterAddons' ``pools``.
        self.pool_descriptions: list[dict[str, Any]] = [pool.description() for pool in self.planned_pools]
        instance_types = {pool.name: list(pool.instance_types) for pool in self.planned_pools}
        # The Python value also carries each pool's instance types (the stack's ``pools`` output lists
        # them); the schema leaves them out because Pulumi does not rename keys inside a list of objects,
        # so other languages read them from ``instance_types``.
        self.pools = pulumi.Output.from_input(
            [
                {**description, "instance_types": instance_types[description["name"]]}
                for description in self.pool_descriptions
            ]
        )
        self.instance_types = pulumi.Output.from_input(instance_types)
        self.node_role_arn = role.role.arn
        self.register_outputs(
            {"pools": self.pools, "instance_types": self.instance_types, "node_role_arn": self.node_role_arn}
        )

    def _release_version(self, pool: PoolPlan) -> pulumi.Output[str] | None:
        """The AMI release EKS publishes for the pool's AMI type and Kubernetes version (its SSM
        parameter), read once per parameter."""
        parameter = pool.release_parameter
        if parameter is None:
            return None
        return self.published_release(parameter)

    def published_release(self, parameter: str) -> pulumi.Output[str]:
        """The value of one of EKS's public AMI release parameters, read once per run whoever asks."""
        if parameter not in self._releases:
            found = aws.ssm.get_parameter_output(name=parameter, opts=pulumi.InvokeOutputOptions(parent=self))
            # A public String parameter: the provider marks every value secret, this one is not.
            self._releases[parameter] = pulumi.Output.unsecret(found.value)
        return self._releases[parameter]

    def _node_group(
        self,
        name: str,
        pool: PoolPlan,
        args: NodePoolsArgs,
        role: RoleWithPolicies,
        inherited: pulumi.ResourceOptions,
    ) -> eks.ManagedNodeGroup:
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-{pool.name}-nodes",
            description=f"Armful pool {pool.name}: IMDSv2 only, encrypted volumes, no SSH key",
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                # Pods get AWS credentials from Pod Identity, so IMDS stays one hop away from them.
                "http_put_response_hop_limit": 1,
            },
            block_device_mappings=[
                {
                    "device_name": device,
                    "ebs": {
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                        **({"volume_size": size} if size is not None else {}),
                    },
                }
                for device, size in pool.block_devices
            ],
            update_default_version=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return eks.ManagedNodeGroup(
            f"{name}-{pool.name}",
            cluster=args["cluster"],
            node_role=role.role,
            ami_type=pool.ami_type,
            instance_types=_instance_types_checked_with_ec2(self.planned_pools, pool, parent=self),
            capacity_type=pool.capacity_type.value,
            scaling_config={
                "min_size": pool.min_size,
                "max_size": pool.max_size,
                "desired_size": pool.desired_size,
            },
            labels=pool.labels,
            taints=[taint.to_eks() for taint in pool.taints],
            launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            subnet_ids=args["subnet_ids"],
            ignore_scaling_changes=True,
            # pulumi-eks gives a node group with a launch template no version of its own: without these
            # its nodes would stay on their first Kubernetes version and AMI whatever the cluster runs.
            version=pool.versions.kubernetes_version if pool.versions else None,
            release_version=self._release_version(pool),
            opts=pulumi.ResourceOptions.merge(
                inherited,
                pulumi.ResourceOptions(
                    parent=self,
                    # Nodes that join before the role has its policies fail to register and the group stalls.
                    depends_on=list(role.policies),
                    transforms=node_group_transforms(pool),
                ),
            ),
        )


def _instance_types_checked_with_ec2(
    pools: Sequence[PoolPlan], pool: PoolPlan, parent: pulumi.Resource
) -> pulumi.Output[list[str]]:
    lookups = [
        aws.ec2.get_instance_type_output(
            instance_type=instance_type, opts=pulumi.InvokeOutputOptions(parent=parent)
        )
        for instance_type in pool.instance_types
    ]

    def verify(results: list[Any]) -> list[str]:
        answers = dict(zip(pool.instance_types, results, strict=True))
        check_ec2_architectures(pools, pool, {t: list(r.supported_architectures) for t, r in answers.items()})
        check_ec2_figures(pools, pool, {t: (r.default_vcpus, r.memory_size) for t, r in answers.items()})
        return list(pool.instance_types)

    return pulumi.Output.all(*lookups).apply(refusing(verify))


def node_group_transforms(pool: PoolPlan) -> list[pulumi.ResourceTransform]:
    """What pulumi-eks' args do not expose on the node group it creates: the rolling update's size, and,
    unless the pool follows the newest AMI release, a release kept once the group has one."""
    transforms = [rolling_update_transform(pool.max_unavailable)]
    if pool.versions is not None and pool.versions.ami_release is NodeAmiRelease.PINNED:
        transforms.append(pinned_release_transform())
    return transforms


def pinned_release_transform() -> pulumi.ResourceTransform:
    """Keep the node group's AMI release once it has one, whatever EKS publishes later.

    The program reads the newest release on every run; ignoring changes to it means the group is created
    at the release published then and stays there. A Kubernetes version change still moves the nodes:
    the provider then asks EKS for the new version alone, and EKS gives the group the newest release of
    that version (as it does when a launch template change replaces the nodes). ``nodeAmiRelease:
    latest`` drops this transform, and every run applies the newest.
    """

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != NODE_GROUP_TYPE:
            return None
        keep = pulumi.ResourceOptions(ignore_changes=[RELEASE_VERSION])
        return pulumi.ResourceTransformResult(
            props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, keep)
        )

    return transform


def rolling_update_transform(max_unavailable: int) -> pulumi.ResourceTransform:
    """Set ``updateConfig`` on the node group pulumi-eks creates, which its own args do not expose."""

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != NODE_GROUP_TYPE:
            return None
        props = {**args.props, "updateConfig": {"maxUnavailable": max_unavailable}}
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    return transform
