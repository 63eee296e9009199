"""Who administers the cluster is an explicit choice: only ``adminPrincipalArns`` by default, EKS's creator
entry only with ``cluster.bootstrapCreatorAdmin``; a stack where no one, or not the deployer, could reach
the cluster is refused before anything is created."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from example_stacks import stack_file_config
from pulumi_harness import ACCOUNT_ID, RecordingMocks
from test_stack_program import CLUSTER, TransformRecordingMocks, _run_main, _stack_config

from armful.core.errors import StackConfigError
from armful.iam import is_listed_principal
from armful.planning.stack_config import parse_stack_config

PULUMI_EKS_ACCESS = {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}


def _armful_keys(stack: str) -> dict[str, Any]:
    return {
        key.removeprefix("armful:"): value
        for key, value in copy.deepcopy(stack_file_config(stack)).items()
        if key.startswith("armful:")
    }


def test_a_cluster_no_one_could_reach_is_refused_with_both_fixes() -> None:
    raw = _armful_keys("arm-workers")
    raw["cluster"]["adminPrincipalArns"] = []
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config(raw)
    (issue,) = caught.value.issues
    assert issue.path == "armful:cluster"
    assert "no one could reach the cluster" in issue.problem
    assert "adminPrincipalArns" in issue.fix and "bootstrapCreatorAdmin: true" in issue.fix


def test_the_creator_entry_alone_is_an_explicit_choice() -> None:
    raw = _armful_keys("arm-workers")
    raw["cluster"] |= {"adminPrincipalArns": [], "bootstrapCreatorAdmin": True}
    assert parse_stack_config(raw).cluster.bootstrap_creator_admin is True
    assert parse_stack_config(_armful_keys("arm-workers")).cluster.bootstrap_creator_admin is False


def _eks_cluster_access(config: dict[str, Any]) -> dict[str, Any]:
    """The accessConfig of the aws.eks.Cluster pulumi-eks creates, as ArmCluster's transforms leave it."""
    mocks = TransformRecordingMocks()
    _run_main("arm-workers", config, mocks)
    (cluster,) = mocks.of_type(CLUSTER)
    args = pulumi.ResourceTransformArgs(
        custom=True,
        type_="aws:eks/cluster:Cluster",
        name=f"{cluster.name}-eksCluster",
        props={"name": "shop-arm-workers", "accessConfig": dict(PULUMI_EKS_ACCESS)},
        opts=pulumi.ResourceOptions(),
    )
    for transform in mocks.transforms[(CLUSTER, cluster.name)]:
        result = transform(args)
        if result is not None:
            args = pulumi.ResourceTransformArgs(args.custom, args.type_, args.name, result.props, result.opts)
    access: dict[str, Any] = args.props["accessConfig"]
    return access


def test_eks_makes_no_creator_admin_by_default() -> None:
    """pulumi-eks always asks EKS for the creator's admin entry; Armful turns it off."""
    access = _eks_cluster_access(_stack_config("arm-workers"))
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}


def test_bootstrap_creator_admin_keeps_eks_creator_entry() -> None:
    config = _stack_config("arm-workers")
    config["armful:cluster"]["bootstrapCreatorAdmin"] = True
    assert _eks_cluster_access(config)["bootstrapClusterCreatorAdminPermissions"] is True


class OtherDeployer(RecordingMocks):
    """``pulumi up`` runs as a role the stack does not list as an admin."""

    def call(self, args: Any) -> Any:
        answer, failures = super().call(args)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            answer = {**answer, "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/ci-deployer/run-7"}
        return answer, failures


def test_a_deployer_who_would_not_be_admin_is_refused_before_anything_is_created() -> None:
    mocks = OtherDeployer()
    with pytest.raises(StackConfigError) as caught:
        _run_main("arm-workers", _stack_config("arm-workers"), mocks, expect_failure=True)
    (issue,) = caught.value.issues
    assert issue.path == "armful:cluster.adminPrincipalArns"
    assert "assumed-role/ci-deployer/run-7" in issue.problem
    assert f"arn:aws:iam::{ACCOUNT_ID}:role/ci-deployer" in issue.fix
    assert "bootstrapCreatorAdmin: true" in issue.fix
    assert [r.type for r in mocks.registrations] == ["armful:index:ArmCluster"]


def test_a_deployer_outside_the_admins_may_rely_on_the_creator_entry() -> None:
    config = _stack_config("arm-workers")
    config["armful:cluster"]["bootstrapCreatorAdmin"] = True
    mocks = OtherDeployer()
    _run_main("arm-workers", config, mocks)
    assert mocks.of_type(CLUSTER)


ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/teams/Platform-Admin"


@pytest.mark.parametrize(
    ("caller", "listed"),
    [
        (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/Platform-Admin/jane", True),
        (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/platform-admin/jane", True),
        (f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/Platform-Admin-2/jane", False),
        ("arn:aws:sts::444455556666:assumed-role/Platform-Admin/jane", False),
        (f"arn:aws:iam::{ACCOUNT_ID}:user/ops/alice", True),
        (f"arn:aws:iam::{ACCOUNT_ID}:user/ops/bob", False),
        (f"arn:aws:iam::{ACCOUNT_ID}:root", False),
    ],
)
def test_a_deployer_is_an_admin_as_its_role_or_user(caller: str, listed: bool) -> None:
    assert is_listed_principal(caller, [ROLE, f"arn:aws:iam::{ACCOUNT_ID}:user/ops/alice"]) is listed
