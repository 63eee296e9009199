"""``EksManagedAddons``: the EKS managed add-ons Armful adds to pulumi-eks' vpc-cni and kube-proxy.

No ``from __future__ import annotations`` here: like every component, its annotations are read at run
time by Pulumi's component analyzer.
"""

import json
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from armful.cluster_addons import inherited_options
from armful.component_types import PoolDescription
from armful.iam import pod_identity_role, stack_region
from armful.planning.eks_managed_addons_plan import plan_eks_managed_addons
from armful.run_errors import armful_errors


def addon_version(
    addon_name: str, pinned: str | None, kubernetes_version: pulumi.Input[str], parent: pulumi.Resource
) -> pulumi.Input[str]:
    """The version an EKS managed add-on runs: the one pinned, else EKS's default for the Kubernetes version.

    Never the newest: that changes whenever AWS publishes a release, so every ``pulumi up`` would roll
    the add-on on its own. The default is the version EKS validated for the Kubernetes version and
    moves with a Kubernetes upgrade, which is when add-ons should move.
    """
    if pinned is not None:
        return pinned
    return aws.eks.get_addon_version_output(
        addon_name=addon_name,
        kubernetes_version=kubernetes_version,
        most_recent=False,
        opts=pulumi.InvokeOutputOptions(parent=parent),
    ).version


class EksManagedAddonsArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    """The EKS cluster's name."""
    kubernetes_version: pulumi.Input[str]
    """The cluster's Kubernetes minor version, to pick each add-on's default version for it."""
    pools: Sequence[PoolDescription]
    """The cluster's pools: CoreDNS and the EBS CSI controller go to the system pool and tolerate its taints."""
    addons: NotRequired[dict[str, Any]]
    """Keyed as stack config's armful:addons: coredns, eksPodIdentityAgent and awsEbsCsiDriver each take a version to pin (default: EKS's default for the Kubernetes version); coredns and awsEbsCsiDriver also values, overrides of their configuration values."""


class EksManagedAddons(pulumi.ComponentResource):
    """coredns, eks-pod-identity-agent and aws-ebs-csi-driver as EKS managed add-ons, placed for the pools.

    CoreDNS and the EBS CSI driver wait for what this component depends on (``depends_on`` in its
    resource options: the node groups), or EKS reports them degraded.
    """

    addon_names: pulumi.Output[list[str]]
    """The EKS managed add-ons installed."""

    def __init__(
        self, name: str, args: EksManagedAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        with armful_errors():
            planned = plan_eks_managed_addons(args)
        super().__init__("armful:index:EksManagedAddons", name, None, opts)
        inherited = inherited_options(opts)
        # The pod identity agent (a DaemonSet) needs no nodes to become active; it only goes with the cluster.
        deleted_with_cluster = pulumi.ResourceOptions(deleted_with=inherited.deleted_with)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        # Only the cluster's name is given: its ARN (in the roles' trust) takes the stack's region.
        region = stack_region(self)
        self.addons: dict[str, aws.eks.Addon] = {}
        for plan in planned:
            addon = plan.spec
            associations = None
            # MANAGED_ADDONS lists each add-on after every add-on it needs.
            waits_for: list[pulumi.Resource] = [self.addons[need] for need in addon.needs]
            identity = addon.pod_identity
            if identity is not None:
                role = pod_identity_role(
                    f"{name}-{addon.name}",
                    partition,
                    parent=self,
                    region=region,
                    cluster_name=args["cluster_name"],
                    namespace=addon.namespace,
                    identity=identity,
                )
                associations = [{"role_arn": role.role.arn, "service_account": identity.service_account}]
                waits_for += role.policies
            self.addons[addon.name] = aws.eks.Addon(
                f"{name}-{addon.name}",
                cluster_name=args["cluster_name"],
                addon_name=addon.name,
                addon_version=addon_version(addon.name, plan.version, args["kubernetes_version"], self),
                configuration_values=json.dumps(plan.configuration_values, sort_keys=True)
                if plan.configuration_values
                else None,
                pod_identity_associations=associations,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions.merge(
                    inherited if addon.needs_nodes else deleted_with_cluster,
                    pulumi.ResourceOptions(parent=self, depends_on=waits_for),
                ),
            )
        self.addon_names = pulumi.Output.from_input(list(self.addons))
        self.register_outputs({"addon_names": self.addon_names})
