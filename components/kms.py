"""KMS keys Armful creates, and their key policies: who may administer a key, and who may use it.

Two kinds of key, never one for both: a cluster's secrets key (EKS envelope encryption, used through the
grant EKS makes at CreateCluster) and a log key (CloudWatch Logs, used by the logs service for named log
groups). Apart, each policy names one consumer; disabling or re-policing a log key cannot reach etcd, whose
key, once a cluster uses it, cannot be changed.

Administration goes to the account, restricted to administrative actions. A key policy without the
account is refused by KMS unless it names the principal creating the key as one that may change the
policy (the lockout check), and a key whose policy names only today's deployer is orphaned the day that
role is replaced (only AWS Support can then recover it). Through the account, IAM policies decide who
administers, as for every other resource; but none may *use* the key through IAM: encrypt, decrypt and
grants are given only by the statements that follow it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from armful.core.config import role_of_assumed_role

KEY_ADMINISTRATION_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
"""What Pulumi needs to create, read, update and delete a key, and what an administrator needs in an
incident; no cryptographic operation and no CreateGrant. DescribeKey stays here because the EKS cluster
role's AmazonEKSClusterPolicy reads the key with it, through IAM."""

# CloudWatch Logs' documented set for a log group's key (encrypt-log-data-kms, step 2).
LOGS_SERVICE_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)
LOG_GROUP_CONTEXT = "kms:EncryptionContext:aws:logs:arn"
KEY_DELETION_WINDOW_DAYS = 30


def account_root(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def key_administration(partition: str, account_id: str) -> dict[str, Any]:
    return {
        "Sid": "AccountAdministersTheKeyThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(partition, account_id)},
        "Action": list(KEY_ADMINISTRATION_ACTIONS),
        "Resource": "*",
    }


def principal_arn_patterns(caller_arn: str) -> list[str]:
    """What ``aws:PrincipalArn`` is for requests made with ``caller_arn``'s credentials (what ``aws sts
    get-caller-identity`` prints). A session of a role is the role, whose path the session's ARN leaves
    out: the role is matched with any path, which names one role, as IAM role names are unique in an
    account whatever their path."""
    role = role_of_assumed_role(caller_arn)
    if role is None:
        return [caller_arn]
    prefix, name = role.rsplit("/", 1)
    return [role, f"{prefix}/*/{name}"]


def secrets_key_policy(partition: str, account_id: str, caller_arn: str) -> dict[str, Any]:
    """A cluster's secrets key: administered through the account, and usable only by EKS.

    EKS uses the key through a grant that CreateCluster makes with the caller's credentials; EKS documents
    that the caller needs kms:CreateGrant and kms:DescribeKey, and that ``kms:GrantIsForAWSResource`` is
    not supported for CreateCluster (a policy conditioned on it refuses the cluster). So CreateGrant is
    allowed to the principal running ``pulumi up``, which creates (and would re-create) the cluster, and
    to no one else; its IAM policy must allow it too.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            key_administration(partition, account_id),
            {
                "Sid": "ClusterCreatorGrantsTheKeyToEks",
                "Effect": "Allow",
                "Principal": {"AWS": account_root(partition, account_id)},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": principal_arn_patterns(caller_arn)}},
            },
        ],
    }


def log_group_arn(partition: str, region: str, account_id: str, name: str) -> str:
    """A log group's ARN as CloudWatch Logs puts it in the encryption context (no ``:*``)."""
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}"


def log_key_policy(
    partition: str, region: str, account_id: str, dns_suffix: str, log_groups: Sequence[str]
) -> dict[str, Any]:
    """A log key: administered through the account, used by CloudWatch Logs for these log groups only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            key_administration(partition, account_id),
            {
                "Sid": "CloudWatchLogsEncryptsTheseLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                "Action": list(LOGS_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {
                        LOG_GROUP_CONTEXT: [
                            log_group_arn(partition, region, account_id, name) for name in log_groups
                        ]
                    }
                },
            },
        ],
    }


def _identity(parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
    """The partition, its DNS suffix and the caller's identity, as the stack's AWS provider sees them."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    partition = aws.get_partition_output(opts=opts)
    return partition.partition, partition.dns_suffix, aws.get_caller_identity_output(opts=opts)


def secrets_key(name: str, cluster_name: str, parent: pulumi.Resource) -> aws.kms.Key:
    """The key that envelope-encrypts a cluster's Kubernetes secrets; protected, as losing it loses them."""
    partition, _, caller = _identity(parent)
    return aws.kms.Key(
        name,
        description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cluster_name}",
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=pulumi.Output.all(partition, caller.account_id, caller.arn).apply(
            lambda parts: json.dumps(secrets_key_policy(*parts))
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=True),
    )


def log_key(
    name: str, cluster_name: str, region: str, log_groups: Sequence[str], parent: pulumi.Resource
) -> aws.kms.Key:
    """The key that encrypts a cluster's CloudWatch log groups. Its policy lets CloudWatch Logs use it for
    them from creation, so each group can be created encrypted with it (CloudWatch Logs checks the key
    when the group is created)."""
    partition, dns_suffix, caller = _identity(parent)
    return aws.kms.Key(
        name,
        description=f"Encryption of EKS cluster {cluster_name}'s CloudWatch log groups",
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=pulumi.Output.all(partition, dns_suffix, caller.account_id).apply(
            lambda parts: json.dumps(log_key_policy(parts[0], region, parts[2], parts[1], list(log_groups)))
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
