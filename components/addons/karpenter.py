"""Karpenter: elastic worker capacity, one architecture per NodePool (design §9).

Chart facts for karpenter 1.14.1 (app 1.14.1) that shape this module:
- The controller needs ``settings.clusterName``; ``settings.interruptionQueue`` names the SQS queue
  that EventBridge fills with spot interruptions, rebalance recommendations, instance state changes and
  scheduled health events, so nodes are drained before EC2 takes them.
- Its default affinity keeps it off nodes Karpenter launched (``karpenter.sh/nodepool DoesNotExist``)
  with required anti-affinity over hostnames: Armful leaves ``affinity`` as the chart has it and places
  the controller with a nodeSelector and tolerations on the system pool, a managed node group.
- CRDs come from the chart's ``crds/`` folder, which Helm installs with the release.
- The controller's AWS access is upstream's policy for this version (the getting-started CloudFormation
  template), scoped to this cluster, its region, its queue and its node role.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from armful.addons.context import AddonContext
from armful.addons.namespaces import KUBE_SYSTEM
from armful.addons.spec import AddonOptions, AddonSpec, PodIdentity, PolicyScope
from armful.core.karpenter_config import NodePoolConfig
from armful.placement.workloads import (
    Image,
    ImageKeys,
    PlacementKeys,
    Resources,
    Workload,
    WorkloadKind,
    on_both_arches,
)

VERSION = "1.14.1"
RELEASE = "karpenter"
SERVICE_ACCOUNT = "karpenter"
QUEUE_SUFFIX = "-karpenter"
NODE_ROLE_SUFFIX = "-karpenter-node"
CONTROLLER_DIGEST = "sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23"
"""The controller build the chart's values.yaml pins."""
SQS_QUEUE_NAME_MAX = 80
IAM_ROLE_NAME_MAX = 64


def interruption_queue_name(cluster_name: str) -> str:
    """The SQS queue Karpenter reads interruption events from (the Pulumi layer creates it)."""
    return f"{cluster_name}{QUEUE_SUFFIX}"


def node_role_name(cluster_name: str) -> str:
    """The IAM role of Karpenter's nodes: named, so the controller's policy can pass only this role."""
    return f"{cluster_name}{NODE_ROLE_SUFFIX}"


class KarpenterOptions(AddonOptions):
    """Karpenter's options: off unless enabled, and the NodePools it manages."""

    enabled: bool = False
    """Install Karpenter on the system pool and apply its NodePools (default false)."""
    node_pools: list[NodePoolConfig] | None = None
    """The NodePools; left out, one per worker arch of the topology."""

    @field_validator("node_pools")
    @classmethod
    def _some_node_pools(cls, pools: list[NodePoolConfig] | None) -> list[NodePoolConfig] | None:
        if pools is not None and not pools:
            raise ValueError(
                "nodePools is empty, so Karpenter would launch nothing. Fix: list NodePools, or leave "
                "nodePools out for one per worker arch of the topology"
            )
        return pools


_POD_LABELS = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": RELEASE}

CONTROLLER = Workload(
    name="controller",
    kind=WorkloadKind.DEPLOYMENT,
    # `<repository>:<tag or appVersion>[@<digest>]`; the chart pins its own build by digest.
    images=(
        Image.from_keys(
            ImageKeys(
                repository=("controller", "image", "repository"),
                tag=("controller", "image", "tag"),
                digest=("controller", "image", "digest"),
                empty_tag=VERSION,
                defaults={
                    ("controller", "image", "repository"): "public.ecr.aws/karpenter/controller",
                    ("controller", "image", "tag"): VERSION,
                    ("controller", "image", "digest"): CONTROLLER_DIGEST,
                },
            )
        ),
    ),
    keys=PlacementKeys(replicas="replicas", resources=("controller", "resources")),
    # Karpenter's guide starts the controller at 1 vCPU and 1 GiB for clusters of hundreds of nodes;
    # half a vCPU is ample below that, and memory is what its cache of the cluster needs.
    resources=on_both_arches(Resources(cpu="500m", memory="1Gi", memory_limit="1Gi")),
    replicas=2,
    pod_labels=_POD_LABELS,
    # The chart's own affinity, written out so the proof sees it: never on a node Karpenter launched, and
    # one replica per node (required), which the capacity proof packs by.
    extra_values={
        "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}
                    ]
                }
            },
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": _POD_LABELS}, "topologyKey": "kubernetes.io/hostname"}
                ]
            },
        },
    },
    templates=("templates/deployment.yaml",),
)


def values(context: AddonContext) -> dict[str, Any]:
    return {
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "settings": {
            "clusterName": context.cluster_name,
            "interruptionQueue": interruption_queue_name(context.cluster_name),
        },
    }


def controller_policy(scope: PolicyScope) -> dict[str, Any]:
    """Upstream's controller policy for 1.14 with this cluster, region, account, queue and node role."""
    p, region, account, cluster = scope.partition, scope.region, scope.account_id, scope.cluster_name
    ec2 = f"arn:{p}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    tagged_nodepool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    request_owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
    }
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    profiles = f"arn:{p}:iam::{account}:instance-profile/*"
    region_tag = {"aws:ResourceTag/topology.kubernetes.io/region": region}
    node_class_tag = {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowScopedEC2InstanceAccessActions",
                "Effect": "Allow",
                "Resource": [
                    f"{ec2}::image/*",
                    f"{ec2}::snapshot/*",
                    f"{ec2}:*:security-group/*",
                    f"{ec2}:*:subnet/*",
                    f"{ec2}:*:capacity-reservation/*",
                    f"{ec2}:*:placement-group/*",
                ],
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            },
            {
                "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
                "Effect": "Allow",
                "Resource": f"{ec2}:*:launch-template/*",
                "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
                "Condition": {"StringEquals": owned, "StringLike": tagged_nodepool},
            },
            {
                "Sid": "AllowScopedEC2InstanceActionsWithTags",
                "Effect": "Allow",
                "Resource": launched,
                "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                "Condition": {
                    "StringEquals": request_owned,
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowScopedResourceCreationTagging",
                "Effect": "Allow",
                "Resource": launched,
                "Action": "ec2:CreateTags",
                "Condition": {
                    "StringEquals": {
                        **request_owned,
                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                    },
                    "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
                },
            },
            {
                "Sid": "AllowScopedResourceTagging",
                "Effect": "Allow",
                "Resource": f"{ec2}:*:instance/*",
                "Action": "ec2:CreateTags",
                "Condition": {
                    "StringEquals": owned,
                    "StringLike": tagged_nodepool,
                    "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                    },
                },
            },
            {
                "Sid": "AllowScopedDeletion",
                "Effect": "Allow",
                "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
                "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                "Condition": {"StringEquals": owned, "StringLike": tagged_nodepool},
            },
            {
                "Sid": "AllowPassingInstanceRole",
                "Effect": "Allow",
                "Resource": f"arn:{p}:iam::{account}:role/{node_role_name(cluster)}",
                "Action": "iam:PassRole",
                "Condition": {
                    "StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileCreationActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": ["iam:CreateInstanceProfile"],
                "Condition": {
                    "StringEquals": {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                    "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileTagActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": ["iam:TagInstanceProfile"],
                "Condition": {
                    "StringEquals": {
                        **owned,
                        **region_tag,
                        **request_owned,
                        "aws:RequestTag/topology.kubernetes.io/region": region,
                    },
                    "StringLike": {**node_class_tag, "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
                },
            },
            {
                "Sid": "AllowScopedInstanceProfileActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": [
                    "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile",
                    "iam:DeleteInstanceProfile",
                ],
                "Condition": {"StringEquals": {**owned, **region_tag}, "StringLike": node_class_tag},
            },
            {
                "Sid": "AllowAPIServerEndpointDiscovery",
                "Effect": "Allow",
                "Resource": scope.cluster_arn,
                "Action": "eks:DescribeCluster",
            },
            {
                "Sid": "AllowInterruptionQueueActions",
                "Effect": "Allow",
                "Resource": f"arn:{p}:sqs:{region}:{account}:{interruption_queue_name(cluster)}",
                "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            },
            {
                "Sid": "AllowRegionalReadActions",
                "Effect": "Allow",
                "Resource": "*",
                "Action": [
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            {
                "Sid": "AllowSSMReadActions",
                "Effect": "Allow",
                "Resource": f"arn:{p}:ssm:{region}::parameter/aws/service/*",
                "Action": "ssm:GetParameter",
            },
            {
                "Sid": "AllowPricingReadActions",
                "Effect": "Allow",
                "Resource": "*",
                "Action": "pricing:GetProducts",
            },
            {
                "Sid": "AllowUnscopedInstanceProfileListAction",
                "Effect": "Allow",
                "Resource": "*",
                "Action": "iam:ListInstanceProfiles",
            },
            {
                "Sid": "AllowInstanceProfileReadActions",
                "Effect": "Allow",
                "Resource": profiles,
                "Action": "iam:GetInstanceProfile",
            },
        ],
    }


SPEC = AddonSpec(
    key="karpenter",
    release=RELEASE,
    namespace=KUBE_SYSTEM,
    chart="karpenter",
    # The OCI reference names the chart itself (its repository is public.ecr.aws/karpenter).
    repository="oci://public.ecr.aws/karpenter/karpenter",
    version=VERSION,
    summary="elastic worker capacity (Karpenter NodePools, one arch each)",
    workloads=(CONTROLLER,),
    values=values,
    options=KarpenterOptions,
    enabled_by_default=False,
    pod_identity=PodIdentity(service_account=SERVICE_ACCOUNT, scoped_inline_policy=controller_policy),
    free_form_paths=("podDisruptionBudget",),
    chart_dir=f"karpenter-{VERSION}",
    create_namespace=False,
)
