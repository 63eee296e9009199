"""``ClusterAddons``: the planned add-ons as Helm releases, with the AWS access and resources they use."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.context import DeployTime
from components.addons.releases import ReleasePlan
from components.iam import pod_identity_role

HELM_TIMEOUT_SECONDS = 900


class ClusterAddonsArgs(TypedDict):
    cluster_name: pulumi.Input[str]
    """The EKS cluster's name, for Pod Identity associations."""
    deploy_time_values: NotRequired[Mapping[str, pulumi.Input[Any]]]
    """Values only known at deploy time, by the name the plan shows (vpc_id, grafana_admin_password)."""


class ClusterAddons(pulumi.ComponentResource):
    release_names: pulumi.Output[list[str]]
    """The Helm releases installed."""

    def __init__(
        self,
        name: str,
        args: ClusterAddonsArgs,
        releases: Sequence[ReleasePlan],
        provider: k8s.Provider,
        wait_for: Sequence[pulumi.Resource] = (),
        deleted_with: pulumi.Resource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("armful:index:ClusterAddons", name, None, opts)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        known = dict(args.get("deploy_time_values", {}))
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        gates: list[pulumi.Resource] = []
        for plan in sorted(releases, key=lambda release: not release.spec.gates_other_releases):
            spec = plan.spec
            access: list[pulumi.Resource] = []
            if plan.log_group is not None:
                access.append(
                    aws.cloudwatch.LogGroup(
                        f"{name}-{spec.release}",
                        name=plan.log_group.name,
                        retention_in_days=plan.log_group.retention_days,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            if spec.pod_identity is not None:
                identity = spec.pod_identity
                role = pod_identity_role(
                    f"{name}-{spec.release}",
                    partition,
                    parent=self,
                    managed_policies=identity.managed_policies,
                    inline_policy=(
                        partition.apply(lambda p, policy=identity.inline_policy: json.dumps(policy(p)))
                        if identity.inline_policy is not None
                        else None
                    ),
                )
                access.append(
                    aws.eks.PodIdentityAssociation(
                        f"{name}-{spec.release}",
                        cluster_name=args["cluster_name"],
                        namespace=spec.namespace,
                        service_account=identity.service_account,
                        role_arn=role.arn,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            needed = [self.releases[release] for release in spec.needs if release in self.releases]
            self.releases[spec.release] = k8s.helm.v3.Release(
                spec.release,
                name=spec.release,
                chart=chart_reference(spec.chart, spec.repository),
                repository_opts=None if spec.repository.startswith("oci://") else {"repo": spec.repository},
                version=spec.version,
                namespace=spec.namespace,
                create_namespace=spec.create_namespace,
                values=resolve_deploy_time(plan.values, known),
                atomic=True,
                cleanup_on_fail=True,
                timeout=HELM_TIMEOUT_SECONDS,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=provider,
                    depends_on=[*wait_for, *gates, *access, *needed],
                    deleted_with=deleted_with,
                ),
            )
            if spec.gates_other_releases:
                gates.append(self.releases[spec.release])
        self.release_names = pulumi.Output.from_input(list(self.releases))
        self.register_outputs({"release_names": self.release_names})


def chart_reference(chart: str, repository: str) -> str:
    """Helm takes an OCI chart as its full reference, and a classic one by name plus repository."""
    return f"{repository.rstrip('/')}" if repository.startswith("oci://") else chart


def resolve_deploy_time(tree: Any, known: Mapping[str, pulumi.Input[Any]]) -> Any:
    """Swap each DeployTime placeholder for its Output; a missing one is a bug in the caller."""
    if isinstance(tree, DeployTime):
        if tree.name not in known:
            raise KeyError(f"no deploy-time value for {tree.name!r}")
        value = known[tree.name]
        return pulumi.Output.secret(value) if tree.secret else value
    if isinstance(tree, Mapping):
        return {key: resolve_deploy_time(value, known) for key, value in tree.items()}
    if isinstance(tree, list):
        return [resolve_deploy_time(value, known) for value in tree]
    return tree
