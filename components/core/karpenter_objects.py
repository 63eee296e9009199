"""The Karpenter objects Armful applies: one EC2NodeClass per OS family in use, and the NodePools.

Shapes follow the CRDs of chart 1.14.1 (``karpenter.sh/v1`` NodePool, ``karpenter.k8s.aws/v1``
EC2NodeClass); tests validate them against those schemas from the pinned chart archive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from armful.core.karpenter_pools import ALIAS_FAMILIES, NodePoolPlan
from armful.core.pools import OsFamily
from armful.core.taints import Taint

NODEPOOL_API = "karpenter.sh/v1"
NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_CLASS_GROUP = "karpenter.k8s.aws"
DISCOVERY_TAG = "karpenter.sh/discovery"
"""The tag Karpenter finds this cluster's private subnets and node security group by."""
BOTTLEROCKET_OS_VOLUME_GIB = 4


def ami_alias(os_family: OsFamily, release: str) -> str:
    """An EC2NodeClass AMI alias pinned to a dated release, from the release EKS publishes.

    AL2023 releases read ``1.35.0-20260401`` (alias ``al2023@v20260401``); Bottlerocket image versions
    read ``1.55.0-d93bb1b1`` (alias ``bottlerocket@v1.55.0``).
    """
    version, _, build = release.partition("-")
    dated = build if os_family is OsFamily.AL2023 else version
    if not dated:
        raise ValueError(f"{release!r} is not an AMI release of {os_family.value}")
    return f"{ALIAS_FAMILIES[os_family]}@v{dated}"


def node_class_disk_gib(node_pools: Sequence[NodePoolPlan], os_family: OsFamily) -> int:
    """A node class serves every NodePool of its OS family: its volume is the largest they ask for."""
    return max(pool.config.disk_size_gib for pool in node_pools if pool.os_family is os_family)


def node_class_object(
    name: str,
    os_family: OsFamily,
    *,
    role: str,
    alias: str,
    cluster_name: str,
    disk_size_gib: int,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """IMDSv2 one hop away (pods get AWS credentials from Pod Identity), encrypted gp3, no public IPs."""
    if os_family is OsFamily.BOTTLEROCKET:
        # Bottlerocket boots from a small OS volume and keeps images and containers on a data volume. The
        # CRD wants every mapping sized (or made from a snapshot): the OS volume gets the AMI's 4 GiB.
        devices = [("/dev/xvda", BOTTLEROCKET_OS_VOLUME_GIB), ("/dev/xvdb", disk_size_gib)]
    else:
        devices = [("/dev/xvda", disk_size_gib)]
    discovery = {"tags": {DISCOVERY_TAG: cluster_name}}
    return {
        "apiVersion": NODE_CLASS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            "role": role,
            "amiSelectorTerms": [{"alias": alias}],
            "subnetSelectorTerms": [discovery],
            "securityGroupSelectorTerms": [discovery],
            "associatePublicIPAddress": False,
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": device,
                    "ebs": {
                        "volumeType": "gp3",
                        "encrypted": True,
                        "deleteOnTermination": True,
                        "volumeSize": f"{size}Gi",
                    },
                }
                for device, size in devices
            ],
            "tags": dict(tags),
        },
    }


def _taint(taint: Taint) -> dict[str, str]:
    """A taint as the NodePool CRD takes it: its ``value`` must not be empty, so a taint without one has none."""
    written = taint.to_kubernetes()
    if not written["value"]:
        del written["value"]
    return written


def node_pool_object(pool: NodePoolPlan) -> dict[str, Any]:
    config = pool.config
    budgets = [
        {
            "nodes": budget.nodes,
            **({"schedule": budget.schedule, "duration": budget.duration} if budget.schedule else {}),
            **({"reasons": [reason.value for reason in budget.reasons]} if budget.reasons else {}),
        }
        for budget in config.budgets
    ]
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": dict(pool.labels)},
            "spec": {
                "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": "EC2NodeClass", "name": pool.node_class},
                "requirements": [dict(requirement) for requirement in pool.requirements],
                "expireAfter": config.expire_after,
                **({"taints": [_taint(taint) for taint in pool.taints]} if pool.taints else {}),
            },
        },
        "disruption": {
            "consolidationPolicy": config.consolidation_policy.value,
            "consolidateAfter": config.consolidate_after,
            "budgets": budgets,
        },
        "limits": {"cpu": config.limits.cpu, "memory": config.limits.memory},
    }
    if config.weight is not None:
        spec["weight"] = config.weight
    return {"apiVersion": NODEPOOL_API, "kind": "NodePool", "metadata": {"name": pool.name}, "spec": spec}
