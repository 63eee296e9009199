"""``EksManagedAddons``: the EKS managed add-ons Armful adds to pulumi-eks' vpc-cni and kube-proxy.

No ``from __future__ import annotations`` here: like every component, its annotations are read at run
time by Pulumi's component analyzer.
"""

import json
from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components.cluster_addons import PoolDescription, describe_pools
from components.core.eks_managed_addons import managed_addons
from components.iam import pod_identity_role


class EksManagedAddonsArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    """The EKS cluster's name."""
    kubernetes_version: pulumi.Input[str]
    """The cluster's Kubernetes minor version, to pick each add-on's newest version for it."""
    pools: Sequence[PoolDescription]
    """The cluster's pools: CoreDNS and the EBS CSI controller go to the system pool and tolerate its taints."""


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
        pools = describe_pools(args["pools"], component="EksManagedAddons")
        super().__init__("armful:index:EksManagedAddons", name, None, opts)
        waits_for_nodes = pulumi.ResourceOptions(depends_on=opts.depends_on if opts is not None else None)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.addons: dict[str, aws.eks.Addon] = {}
        for addon in managed_addons(pools):
            associations = None
            if addon.pod_identity_service_account and addon.managed_policy:
                role = pod_identity_role(
                    f"{name}-{addon.name}", partition, parent=self, managed_policies=[addon.managed_policy]
                )
                associations = [{"role_arn": role.arn, "service_account": addon.pod_identity_service_account}]
            version = aws.eks.get_addon_version_output(
                addon_name=addon.name,
                kubernetes_version=args["kubernetes_version"],
                most_recent=True,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            self.addons[addon.name] = aws.eks.Addon(
                addon.name,
                cluster_name=args["cluster_name"],
                addon_name=addon.name,
                addon_version=version.version,
                configuration_values=json.dumps(addon.configuration_values)
                if addon.configuration_values
                else None,
                pod_identity_associations=associations,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions.merge(
                    waits_for_nodes if addon.needs_nodes else None, pulumi.ResourceOptions(parent=self)
                ),
            )
        self.addon_names = pulumi.Output.from_input(list(self.addons))
        self.register_outputs({"addon_names": self.addon_names})
