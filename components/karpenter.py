"""Karpenter's AWS side and its NodePools, around the ``karpenter`` Helm release ``ClusterAddons`` installs.

``Karpenter`` comes before the release: the node role and its ``EC2_LINUX`` access entry, the SQS
interruption queue (encrypted, TLS only) with the EventBridge rules that fill it, and the
``karpenter.sh/discovery`` tags on the private subnets and the cluster security group. The controller's
own role is the release's Pod Identity role, made by ``ClusterAddons`` like every add-on's.
``KarpenterNodePools`` comes after the release (its CRDs must exist): one EC2NodeClass per OS family in
use, then the NodePools. Being deleted before the release, the NodePools let Karpenter drain and
terminate the nodes it launched while it still runs.

No ``from __future__ import annotations`` here: Pulumi's component analyzer reads these annotations at
run time to infer the package schema (``plugin/``), so they must be real types, not strings.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from armful.addons.karpenter import interruption_queue_name, node_role_name
from armful.core.arch import Arch
from armful.core.karpenter_objects import (
    DISCOVERY_TAG,
    NODE_CLASS_API,
    ami_alias,
    node_class_disk_gib,
    node_class_object,
    node_pool_object,
)
from armful.core.karpenter_pools import NodePoolPlan
from armful.core.pools import NodeAmiRelease, OsFamily, ami_type, release_version_parameter
from armful.iam import node_role

NODE_ACCESS_ENTRY_TYPE = "EC2_LINUX"
QUEUE_RETENTION_SECONDS = 300
"""Interruption events are worth nothing after five minutes: EC2 reclaims a spot node two minutes in."""
INTERRUPTION_EVENTS = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": (
        "aws.ec2",
        "EC2 Capacity Reservation Instance Interruption Warning",
    ),
}
"""The EventBridge rules upstream's template for 1.14 routes to the queue (name → source, detail-type)."""


class KarpenterArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    """The EKS cluster's name; wait on the cluster by giving an Output of it."""
    private_subnet_ids: NotRequired[pulumi.Input[Sequence[str]]]
    """Private subnets Armful did not create, to tag for discovery (a VPC Armful creates tags its own)."""
    private_subnet_count: NotRequired[int]
    """How many ``private_subnet_ids`` there are (known before the ids are)."""
    tags: NotRequired[Mapping[str, str]]
    """Tags for the queue, the rules and the node role."""


class Karpenter(pulumi.ComponentResource):
    """What Karpenter needs on AWS before its controller starts: the node role and its access entry, the interruption queue and its EventBridge rules, and discovery tags."""

    node_role_name: pulumi.Output[str]
    """The IAM role of the nodes Karpenter launches."""
    queue_name: pulumi.Output[str]
    """The SQS queue Karpenter reads interruption events from."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("armful:index:Karpenter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = pulumi.Output.from_input(args["cluster_name"])
        tags = dict(args.get("tags") or {})
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        nodes = node_role(
            f"{name}-node",
            partition,
            self,
            # Named: the controller's policy lets it pass exactly this role to EC2.
            role_name=cluster_name.apply(node_role_name),
            description="Armful: nodes Karpenter launches (join EKS, VPC CNI, pull from ECR)",
            tags=tags,
        )
        role = nodes.role
        access_entry = aws.eks.AccessEntry(
            f"{name}-node",
            cluster_name=cluster_name,
            principal_arn=role.arn,
            type=NODE_ACCESS_ENTRY_TYPE,
            opts=child,
        )

        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=cluster_name.apply(interruption_queue_name),
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=tags or None,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-interruptions",
            queue_url=queue.url,
            policy=queue.arn.apply(queue_policy_document),
            opts=child,
        )
        rules = []
        for rule_name, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{rule_name}",
                description=f"Karpenter: {detail_type} to its interruption queue",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags=tags or None,
                opts=child,
            )
            rules.append(
                aws.cloudwatch.EventTarget(
                    f"{name}-{rule_name}",
                    rule=rule.name,
                    target_id="KarpenterInterruptionQueueTarget",
                    arn=queue.arn,
                    opts=pulumi.ResourceOptions(parent=rule, depends_on=[queue_policy]),
                )
            )

        discovery = [
            aws.ec2.Tag(
                f"{name}-discovery-subnet-{index}",
                resource_id=pulumi.Output.from_input(args["private_subnet_ids"]).apply(
                    lambda ids, index=index: ids[index]
                ),
                key=DISCOVERY_TAG,
                value=cluster_name,
                opts=child,
            )
            for index in range(args.get("private_subnet_count", 0) if "private_subnet_ids" in args else 0)
        ]
        # Managed node groups and Karpenter's nodes share the security group EKS creates for the cluster.
        cluster = aws.eks.get_cluster_output(name=cluster_name, opts=pulumi.InvokeOutputOptions(parent=self))
        discovery.append(
            aws.ec2.Tag(
                f"{name}-discovery-security-group",
                resource_id=cluster.vpc_config.cluster_security_group_id,
                key=DISCOVERY_TAG,
                value=cluster_name,
                opts=child,
            )
        )

        self.node_role_name = role.name
        self.queue_name = queue.name
        self.ready: list[pulumi.Resource] = [
            *nodes.ready,
            access_entry,
            queue,
            queue_policy,
            *rules,
            *discovery,
        ]
        """What the controller's release waits for."""
        self.register_outputs({"node_role_name": self.node_role_name, "queue_name": self.queue_name})


def queue_policy_document(queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send to the queue; nobody may use it without TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "EC2InterruptionPolicy",
            "Statement": [
                {
                    "Sid": "AllowEventBridge",
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                },
                {
                    "Sid": "DenyHTTP",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


class KarpenterNodePoolsArgs(TypedDict):
    cluster_name: str
    """The EKS cluster's name, which Karpenter's discovery tags carry."""
    node_role_name: pulumi.Input[str]
    """The IAM role of the nodes (``Karpenter.node_role_name``)."""
    kubernetes_version: str
    """The cluster's Kubernetes version, whose AMI releases the node classes boot."""
    node_ami_release: NotRequired[str]
    """pinned (default): a node class keeps the AMI release published when it was created; latest: each deploy takes the newest."""
    kubernetes_provider: k8s.Provider
    """The cluster's Kubernetes provider."""
    tags: NotRequired[Mapping[str, str]]
    """Tags on the instances and volumes Karpenter launches."""


class KarpenterNodePools(pulumi.ComponentResource):
    """Karpenter's EC2NodeClasses and NodePools, applied once its release has installed the CRDs."""

    node_pool_names: pulumi.Output[list[str]]
    """The NodePools applied."""

    def __init__(
        self,
        name: str,
        args: KarpenterNodePoolsArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        node_pools: Sequence[NodePoolPlan],
        published_release: Callable[[str], pulumi.Output[str]] | None = None,
    ) -> None:
        """``node_pools`` (Python only): the NodePools the plan decided. ``published_release`` (Python only):
        reads an AMI release parameter, so that the node groups and the node classes share one read."""
        super().__init__("armful:index:KarpenterNodePools", name, None, opts)
        provider = args["kubernetes_provider"]
        # Pulumi gives depends_on to the component alone; its objects must wait for the release themselves.
        in_cluster = pulumi.ResourceOptions(
            parent=self, provider=provider, depends_on=opts.depends_on if opts is not None else None
        )
        release = NodeAmiRelease(args.get("node_ami_release", NodeAmiRelease.PINNED.value))
        families = sorted({pool.os_family for pool in node_pools}, key=lambda family: family.value)
        node_classes: dict[OsFamily, k8s.apiextensions.CustomResource] = {}
        for family in families:
            first = next(pool for pool in node_pools if pool.os_family is family)
            # Graviton's and x86's releases of an OS family share their date: one alias serves both.
            parameter = release_version_parameter(ami_type(family, Arch.ARM64), args["kubernetes_version"])
            published = (published_release or self._read_parameter)(parameter)
            if release is NodeAmiRelease.PINNED:
                published = self._kept_release(name, first.node_class, args, published)
            spec = pulumi.Output.all(args["node_role_name"], published).apply(
                lambda parts, family=family, node_class=first.node_class: node_class_object(
                    node_class,
                    family,
                    role=parts[0],
                    alias=ami_alias(family, parts[1]),
                    cluster_name=args["cluster_name"],
                    disk_size_gib=node_class_disk_gib(node_pools, family),
                    tags=dict(args.get("tags") or {}),
                )["spec"]
            )
            node_classes[family] = k8s.apiextensions.CustomResource(
                f"{name}-{family.value.lower()}",
                api_version=NODE_CLASS_API,
                kind="EC2NodeClass",
                metadata={"name": first.node_class},
                spec=spec,
                opts=in_cluster,
            )
        for pool in node_pools:
            body = node_pool_object(pool)
            k8s.apiextensions.CustomResource(
                f"{name}-{pool.name}",
                api_version=body["apiVersion"],
                kind=body["kind"],
                metadata=body["metadata"],
                spec=body["spec"],
                opts=pulumi.ResourceOptions.merge(
                    in_cluster, pulumi.ResourceOptions(depends_on=[node_classes[pool.os_family]])
                ),
            )
        self.node_pool_names = pulumi.Output.from_input([pool.name for pool in node_pools])
        self.register_outputs({"node_pool_names": self.node_pool_names})

    def _kept_release(
        self, name: str, node_class: str, args: KarpenterNodePoolsArgs, published: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        """The release a pinned node class keeps: the one published when it was first applied for the
        cluster's Kubernetes version, held in an SSM parameter of the stack's own that ignores later
        releases. The parameter is named for the version, so a Kubernetes upgrade makes a new one at the
        new version's release (an alias dated before the version's first AMI finds no image) and drops the
        old, as a node group moves to the new version's release."""
        version = args["kubernetes_version"]
        kept = aws.ssm.Parameter(
            f"{name}-{node_class}-release-{version.replace('.', '-')}",
            name=kept_release_parameter(args["cluster_name"], node_class, version),
            type="String",
            # A public AMI release: kept in the clear (``value`` would make it, and the node class, secret).
            insecure_value=published,
            description=f"The AMI release Karpenter's {node_class} EC2NodeClass keeps for Kubernetes {version}",
            tags=dict(args.get("tags") or {}) or None,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["insecureValue"]),
        )
        return kept.insecure_value

    def _read_parameter(self, parameter: str) -> pulumi.Output[str]:
        found = aws.ssm.get_parameter_output(name=parameter, opts=pulumi.InvokeOutputOptions(parent=self))
        # A public String parameter: the provider marks every value secret, this one is not.
        return pulumi.Output.unsecret(found.value)


def kept_release_parameter(cluster_name: str, node_class: str, kubernetes_version: str) -> str:
    """Where a pinned EC2NodeClass's AMI release is kept, per cluster, node class and Kubernetes version."""
    return f"/armful/{cluster_name}/karpenter/{node_class}/{kubernetes_version}/ami-release"
