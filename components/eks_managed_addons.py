"""``EksManagedAddons``: the EKS managed add-ons Armful adds to pulumi-eks' vpc-cni and kube-proxy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components.core.eks_managed_addons import managed_addons
from components.core.pools import PoolPlan
from components.iam import pod_identity_role


class EksManagedAddonsArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    kubernetes_version: pulumi.Input[str]


class EksManagedAddons(pulumi.ComponentResource):
    addon_names: pulumi.Output[list[str]]
    """The EKS managed add-ons installed."""

    def __init__(
        self,
        name: str,
        args: EksManagedAddonsArgs,
        pools: Sequence[PoolPlan],
        node_groups: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("armful:index:EksManagedAddons", name, None, opts)
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
                # CoreDNS and the EBS CSI controller wait for nodes, or EKS reports them degraded.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=list(node_groups) if addon.needs_nodes else []
                ),
            )
        self.addon_names = pulumi.Output.from_input(list(self.addons))
        self.register_outputs({"addon_names": self.addon_names})
