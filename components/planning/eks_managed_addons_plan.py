"""``EksManagedAddons``' args → the EKS add-ons it installs, in an order where each follows its needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from armful.addons.config import AddonsConfig
from armful.addons.eks_managed import MANAGED_ADDONS
from armful.core.errors import ConfigIssue, StackConfigError
from armful.core.findings import FindingLevel
from armful.core.pools import PoolPlan
from armful.planning.cluster_addons_plan import describe_pools, issues_under, misplaced_addon_keys
from armful.planning.component_args import ArgsError
from armful.planning.plan import PlanError
from armful.planning.releases import ManagedAddonPlan, plan_managed_addons


def plan_eks_managed_addons(args: Mapping[str, Any]) -> list[ManagedAddonPlan]:
    """Validate EksManagedAddons' args and plan the add-ons it installs; raises ArgsError or PlanError."""
    component = "EksManagedAddons"
    issues: list[ConfigIssue] = []
    pools: tuple[PoolPlan, ...] = ()
    try:
        pools = describe_pools(args.get("pools") or (), component=component)
    except StackConfigError as error:
        issues += error.issues
    addons = None
    try:
        addons = AddonsConfig.model_validate(args.get("addons") or {})
    except ValidationError as error:
        issues += issues_under("addons", error)
    issues += misplaced_addon_keys(args, component, takes_managed=True)
    issues += _cluster_addon_keys(args)
    if issues or addons is None:
        raise ArgsError(issues, component)
    # Placed by the pools' roles and taints alone: no topology is needed, so none is named in findings.
    # Their values never name the cluster, which is an Output when ArmCluster creates it.
    plans, _, findings = plan_managed_addons(addons, None, pools, "", "")
    if any(finding.level is FindingLevel.ERROR for finding in findings):
        raise PlanError(findings, subject="these EKS managed add-ons")
    return install_order([plan for plan in plans if not plan.spec.installed_with_cluster])


def _cluster_addon_keys(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """vpc-cni and kube-proxy are created with the cluster: their version is the cluster's to set."""
    given = args.get("addons") or {}
    return [
        ConfigIssue(
            f"addons.{key}",
            f"{spec.name} is created with the cluster by pulumi_eks.Cluster, not by EksManagedAddons",
            f"pin its version on the cluster ({spec.cluster_version_arg}), "
            "or give it to ArmCluster, which does",
        )
        for spec in MANAGED_ADDONS
        if spec.installed_with_cluster
        for key in (spec.key, to_snake(spec.key))
        if key in given
    ]


def install_order(plans: Sequence[ManagedAddonPlan]) -> list[ManagedAddonPlan]:
    """The add-ons as listed, after checking that each comes after every add-on it needs: the component
    waits for each need by name, so one missing or later is a bug to stop on, never to skip."""
    names = [plan.spec.name for plan in plans]
    for index, plan in enumerate(plans):
        for need in plan.spec.needs:
            if need not in names[:index]:
                raise ValueError(
                    f"EKS managed add-on {plan.spec.name} needs {need}, which is not installed before it"
                )
    return list(plans)
