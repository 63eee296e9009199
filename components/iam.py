"""IAM roles Armful creates: the node role, and roles that pods assume through EKS Pod Identity."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

# What a node needs and nothing more: join the cluster, run the VPC CNI, pull images from ECR.
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
)

_EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}

# Pod Identity needs both actions: the agent tags the session with the pod's cluster, namespace and SA.
_POD_IDENTITY_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}


def managed_policy_arn(partition: pulumi.Input[str], name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", name)


def node_role(name: str, partition: pulumi.Input[str], parent: pulumi.Resource) -> aws.iam.Role:
    role = aws.iam.Role(
        name,
        assume_role_policy=json.dumps(_EC2_TRUST),
        description="Armful node role: join EKS, VPC CNI, pull from ECR",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for policy in NODE_MANAGED_POLICIES:
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=pulumi.ResourceOptions(parent=role),
        )
    return role


def pod_identity_role(
    name: str,
    partition: pulumi.Input[str],
    parent: pulumi.Resource,
    managed_policies: Sequence[str] = (),
    inline_policy: pulumi.Input[str] | None = None,
) -> aws.iam.Role:
    """A role that only EKS Pod Identity can assume, with the policies one add-on needs."""
    role = aws.iam.Role(
        name,
        assume_role_policy=json.dumps(_POD_IDENTITY_TRUST),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for policy in managed_policies:
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=pulumi.ResourceOptions(parent=role),
        )
    if inline_policy is not None:
        aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=inline_policy, opts=pulumi.ResourceOptions(parent=role)
        )
    return role
