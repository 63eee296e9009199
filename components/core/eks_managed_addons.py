"""EKS managed add-ons Armful installs, and the configuration values that place them (design §3).

vpc-cni and kube-proxy are created by ``pulumi_eks.Cluster`` itself; their DaemonSets tolerate every
taint. CoreDNS and the EBS CSI controller are controllers and go to the system pool; the EBS CSI node
DaemonSet must reach every pool so that volumes attach wherever a pod lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from armful.core.pools import PoolPlan
from armful.placement.rules import system_node_selector, system_tolerations

POD_IDENTITY_AGENT = "eks-pod-identity-agent"
# EKS installs a managed add-on's workloads in kube-system.
ADDON_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"


@dataclass(frozen=True)
class ManagedAddon:
    name: str
    configuration_values: dict[str, Any] = field(default_factory=dict)
    pod_identity_service_account: str | None = None
    managed_policy: str | None = None
    needs_nodes: bool = False
    """Its controllers must have nodes to run on, or EKS reports the add-on degraded."""
    needs: tuple[str, ...] = ()
    """Managed add-ons that must be installed first."""


def managed_addons(pools: Sequence[PoolPlan]) -> list[ManagedAddon]:
    controller_placement = {
        "nodeSelector": system_node_selector(),
        "tolerations": system_tolerations(pools),
    }
    return [
        ManagedAddon(POD_IDENTITY_AGENT),
        ManagedAddon(
            "coredns",
            configuration_values={"replicaCount": 2, **controller_placement},
            needs_nodes=True,
        ),
        ManagedAddon(
            "aws-ebs-csi-driver",
            configuration_values={
                "controller": {"replicaCount": 2, **controller_placement},
                "node": {"tolerateAllTaints": True},
            },
            pod_identity_service_account=EBS_CSI_SERVICE_ACCOUNT,
            managed_policy=EBS_CSI_POLICY,
            needs_nodes=True,
            # Its controller gets AWS credentials from Pod Identity, which the agent serves on each node.
            needs=(POD_IDENTITY_AGENT,),
        ),
    ]
