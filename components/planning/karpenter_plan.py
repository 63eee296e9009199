"""Karpenter's part of the plan: the NodePools a stack's config asks for, checked against the cluster."""

from __future__ import annotations

from collections.abc import Mapping

from armful.addons.karpenter import (
    IAM_ROLE_NAME_MAX,
    SQS_QUEUE_NAME_MAX,
    KarpenterOptions,
    interruption_queue_name,
    node_role_name,
)
from armful.core.errors import ConfigIssue, config_path, raise_if_any
from armful.core.karpenter_pools import NodePoolPlan, default_node_pools, plan_node_pools
from armful.planning.stack_config import StackConfig

NODE_POOLS_PATH = ("addons", "karpenter", "nodePools")


def karpenter_options(config: StackConfig) -> KarpenterOptions:
    options = config.addons.karpenter
    assert isinstance(options, KarpenterOptions)
    return options


def plan_karpenter_node_pools(config: StackConfig) -> list[NodePoolPlan]:
    """The NodePools of an enabled Karpenter (the topology's defaults where none are listed); raises
    StackConfigError naming each field to fix."""
    options = karpenter_options(config)
    if not options.enabled:
        return []
    given = options.node_pools
    configs = given if given is not None else default_node_pools(config.topology, config.preferred_arch)
    plans, issues = plan_node_pools(
        configs,
        config.topology,
        config.preferred_arch,
        [pool.name for pool in (config.system_pool, *config.worker_pools)],
        NODE_POOLS_PATH,
        config.node_versions(),
    )
    issues += _name_issues(config.cluster.name) + _tag_issues(config.cluster.tags)
    raise_if_any(issues)
    return plans


def _name_issues(cluster_name: str) -> list[ConfigIssue]:
    """Karpenter's queue and node role are named after the cluster, within what SQS and IAM take."""
    too_long = [
        f"{what} {name!r} is {len(name)} characters, over the {most} {service} takes"
        for what, name, most, service in (
            ("its interruption queue", interruption_queue_name(cluster_name), SQS_QUEUE_NAME_MAX, "SQS"),
            ("its node role", node_role_name(cluster_name), IAM_ROLE_NAME_MAX, "IAM"),
        )
        if len(name) > most
    ]
    if not too_long:
        return []
    return [
        ConfigIssue(
            config_path("cluster", "name"),
            f"Karpenter names resources after the cluster: {'; '.join(too_long)}",
            f"shorten the cluster name to at most {IAM_ROLE_NAME_MAX - len('-karpenter-node')} characters, or "
            "leave addons.karpenter disabled",
        )
    ]


# The tags an EC2NodeClass refuses (its CRD's rules): Karpenter sets them on what it launches itself.
RESTRICTED_TAGS = (
    "eks:eks-cluster-name",
    "karpenter.sh/nodepool",
    "karpenter.sh/nodeclaim",
    "karpenter.k8s.aws/ec2nodeclass",
)
RESTRICTED_TAG_PREFIX = "kubernetes.io/cluster"


def _tag_issues(tags: Mapping[str, str]) -> list[ConfigIssue]:
    """The cluster's tags go on every node Karpenter launches, through its EC2NodeClass."""
    refused = sorted(key for key in tags if key in RESTRICTED_TAGS or key.startswith(RESTRICTED_TAG_PREFIX))
    if not refused:
        return []
    return [
        ConfigIssue(
            config_path("cluster", "tags"),
            f"Karpenter's EC2NodeClass refuses tags it sets itself, and the cluster's tags go on its nodes: "
            f"{', '.join(refused)}",
            "remove these tags (Karpenter and EKS set them on the nodes already)",
        )
    ]
