"""``NodePools``' args → the planned pools, validated by the same model as stack config's pools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from armful.core.arch import Arch
from armful.core.config import PoolsConfig, check_kubernetes_version
from armful.core.errors import ConfigIssue, StackConfigError, issues_from_pydantic
from armful.core.pool_planner import plan_pools
from armful.core.pools import NodeAmiRelease, NodeVersions, PoolPlan

POOL_ARGS = ("topology", "preferred_arch", "system_pool", "worker_pools")


def plan_node_pools(args: Mapping[str, Any]) -> tuple[PoolPlan, ...]:
    """The pools of a topology, system pool first; raises StackConfigError naming the same fields as
    stack config does."""
    versions = node_versions(args)
    try:
        config = PoolsConfig.model_validate({key: args[key] for key in POOL_ARGS if key in args})
    except ValidationError as error:
        raise StackConfigError(issues_from_pydantic(error)) from None
    elastic = args.get("elastic_worker_arches") or ()
    arches, issues = [], []
    for index, arch in enumerate(elastic):
        try:
            arches.append(Arch(arch))
        except ValueError:
            issues.append(
                ConfigIssue(
                    f"elastic_worker_arches[{index}]", f"{arch!r} is not an arch", "use amd64 or arm64"
                )
            )
    if issues:
        raise StackConfigError(issues)
    return tuple(plan_pools(config, versions, frozenset(arches)))


def node_versions(args: Mapping[str, Any]) -> NodeVersions | None:
    """``kubernetes_version`` and ``node_ami_release`` as the node groups get them; None when no version is
    given (EKS then picks the cluster's at creation, and the nodes keep it); raises StackConfigError."""
    version, release = args.get("kubernetes_version"), args.get("node_ami_release")
    issues = []
    if version is not None:
        try:
            # Any version EKS still supports: the cluster is the user's, extended support their choice.
            check_kubernetes_version(
                version if isinstance(version, str) else repr(version), allow_extended=True
            )
        except ValueError as error:
            problem, _, fix = str(error).partition(". Fix: ")
            issues.append(
                ConfigIssue("kubernetes_version", problem, fix or "give the cluster's version, like 1.35")
            )
    choices = ", ".join(choice.value for choice in NodeAmiRelease)
    if release is not None and release not in {choice.value for choice in NodeAmiRelease}:
        issues.append(
            ConfigIssue("node_ami_release", f"{release!r} is not an AMI release policy", f"use {choices}")
        )
    elif release is not None and version is None:
        issues.append(
            ConfigIssue(
                "node_ami_release",
                "node_ami_release is given without kubernetes_version, so there is no AMI release to pick",
                "give kubernetes_version, the cluster's Kubernetes version",
            )
        )
    if issues:
        raise StackConfigError(issues)
    if version is None:
        return None
    return NodeVersions(version, NodeAmiRelease(release or NodeAmiRelease.PINNED.value))
