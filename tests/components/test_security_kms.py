"""KMS keys with explicit policies: the account administers them through IAM, but only EKS (through its
CreateCluster grant) uses the secrets key and only CloudWatch Logs, for this cluster's log groups, the log
key; every log group Armful creates is encrypted with it."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from example_stacks import stack_file_config
from pulumi_harness import ACCOUNT_ID
from test_cluster_addons_standalone import base_args, run_with_their_provider
from test_stack_program import CLUSTER_NAMES, _program

from armful import kms

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
# Anything that reads or writes data under the key, or lets someone else do so.
USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:CreateGrant")


def _policy(stack: str, key: str) -> dict[str, Any]:
    return json.loads(_program(stack).mocks.one(KEY, key).inputs["policy"])


def _grants_use(statement: dict[str, Any]) -> bool:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    return any(action in ("*", "kms:*") or action.startswith(USE) for action in actions)


def test_the_account_administers_both_keys_but_cannot_use_them_through_iam(example_stack: str) -> None:
    for key in ("armful-secrets", "armful-logs"):
        statements = _policy(example_stack, key)["Statement"]
        (admin,) = [s for s in statements if s["Sid"] == "AccountAdministersTheKeyThroughIam"]
        assert admin["Principal"] == {"AWS": ROOT}
        assert set(admin["Action"]) == set(kms.KEY_ADMINISTRATION_ACTIONS)
        assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DescribeKey"} <= set(admin["Action"])
        assert not _grants_use(admin), admin["Action"]
        assert "Condition" not in admin


def test_only_the_deployer_may_grant_the_secrets_key_to_eks(example_stack: str) -> None:
    statements = _policy(example_stack, "armful-secrets")["Statement"]
    using = [s for s in statements if _grants_use(s)]
    assert [s["Sid"] for s in using] == ["ClusterCreatorGrantsTheKeyToEks"]
    (grant,) = using
    assert grant["Action"] == "kms:CreateGrant"
    # EKS documents that kms:GrantIsForAWSResource is not supported for CreateCluster.
    # The harness deploys as a session of role platform-admin: the role, whatever its path.
    assert grant["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{ACCOUNT_ID}:role/platform-admin",
                f"arn:aws:iam::{ACCOUNT_ID}:role/*/platform-admin",
            ]
        }
    }
    assert len(statements) == 2


def test_only_cloudwatch_logs_uses_the_log_key_and_only_for_this_clusters_groups(example_stack: str) -> None:
    region = stack_file_config(example_stack)["aws:region"]
    cluster = CLUSTER_NAMES[example_stack]
    statements = _policy(example_stack, "armful-logs")["Statement"]
    using = [s for s in statements if _grants_use(s)]
    assert len(using) == 1 and len(statements) == 2
    (logs,) = using
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    groups = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    prefix = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:/aws/eks/{cluster}"
    assert sorted(groups) == [f"{prefix}/cluster", f"{prefix}/containers"]


def test_every_log_group_is_created_encrypted_with_the_log_key_after_it(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    # One log key for the cluster: ClusterAddons uses ArmCluster's rather than making its own.
    assert sorted(k.name for k in mocks.of_type(KEY)) == ["armful-logs", "armful-secrets"]
    key = mocks.one(KEY, "armful-logs")
    groups = mocks.of_type(LOG_GROUP)
    cluster = CLUSTER_NAMES[example_stack]
    assert sorted(g.inputs["name"] for g in groups) == [
        f"/aws/eks/{cluster}/cluster",
        f"/aws/eks/{cluster}/containers",
    ]
    for group in groups:
        assert group.inputs["kmsKeyId"] == f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/armful-logs"
        assert mocks.waits_for(group, key), group.name


def test_a_role_session_deployer_is_matched_as_its_role_whatever_its_path() -> None:
    session = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/platform-deployer/ci-run-42"
    patterns = kms.principal_arn_patterns(session)
    for role in (
        f"arn:aws:iam::{ACCOUNT_ID}:role/platform-deployer",
        f"arn:aws:iam::{ACCOUNT_ID}:role/teams/platform/platform-deployer",
    ):
        assert any(fnmatch.fnmatchcase(role, p) for p in patterns), role
    for other in (
        f"arn:aws:iam::{ACCOUNT_ID}:role/platform-deployer-2",
        f"arn:aws:iam::{ACCOUNT_ID}:role/teams/not-platform-deployer",
        "arn:aws:iam::444455556666:role/platform-deployer",
    ):
        assert not any(fnmatch.fnmatchcase(other, p) for p in patterns), other


@pytest.mark.parametrize(
    "caller",
    [f"arn:aws:iam::{ACCOUNT_ID}:user/ops/alice", f"arn:aws:sts::{ACCOUNT_ID}:federated-user/bob"],
)
def test_other_deployers_are_matched_exactly(caller: str) -> None:
    assert kms.principal_arn_patterns(caller) == [caller]


def test_cluster_addons_on_their_own_encrypt_their_log_group_with_a_key_of_their_own() -> None:
    mocks, _ = run_with_their_provider(base_args())
    (key,) = mocks.of_type(KEY)
    (group,) = mocks.of_type(LOG_GROUP)
    assert group.inputs["name"] == "/aws/eks/theirs/containers"
    assert group.inputs["kmsKeyId"] == f"arn:aws:kms:us-west-2:{ACCOUNT_ID}:key/{key.name}"
    (logs,) = [s for s in json.loads(key.inputs["policy"])["Statement"] if _grants_use(s)]
    assert logs["Principal"] == {"Service": "logs.us-east-2.amazonaws.com"}
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        f"arn:aws:logs:us-east-2:{ACCOUNT_ID}:log-group:/aws/eks/theirs/containers"
    ]
