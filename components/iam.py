"""IAM roles Armful creates: the node role, and roles that pods assume through EKS Pod Identity."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from armful.addons.spec import PodIdentity, PolicyScope
from armful.core.config import role_of_assumed_role

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

# The session tags EKS Pod Identity puts on every role session it opens (Amazon EKS User Guide, "Create
# IAM role with trust policy required by EKS Pod Identity" and its list of session tags: eks-cluster-arn,
# eks-cluster-name, kubernetes-namespace, kubernetes-service-account, kubernetes-pod-name/-uid). AWS
# documents conditions on these in the trust policy to restrict which clusters, namespaces and service
# accounts can use a role. The cluster's ARN pins the account and region besides the name: a cluster of
# the same name in another account or region cannot use the role. The EKS guide documents no
# aws:SourceAccount / aws:SourceArn for pods.eks.amazonaws.com (its confused-deputy page covers the
# cluster role, eks.amazonaws.com); a condition on a key the service does not send denies every
# AssumeRole, so the documented tag carries the account and region instead.
POD_IDENTITY_CLUSTER_ARN_TAG = "aws:RequestTag/eks-cluster-arn"
POD_IDENTITY_CLUSTER_TAG = "aws:RequestTag/eks-cluster-name"
POD_IDENTITY_NAMESPACE_TAG = "aws:RequestTag/kubernetes-namespace"
POD_IDENTITY_SERVICE_ACCOUNT_TAG = "aws:RequestTag/kubernetes-service-account"


@dataclass(frozen=True)
class RoleWithPolicies:
    """A role and the resources that give it permissions: whatever uses the role waits for all of them."""

    role: aws.iam.Role
    policies: tuple[pulumi.Resource, ...]

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What to depend on so that the role exists *with* its permissions."""
        return [self.role, *self.policies]


def managed_policy_arn(partition: pulumi.Input[str], name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", name)


def policy_scope(
    partition: pulumi.Input[str],
    region: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    parent: pulumi.Resource,
    vpc_id: pulumi.Input[str] | None = None,
) -> pulumi.Output[PolicyScope]:
    """The partition, region, account (the caller's identity), cluster and VPC a Pod Identity role serves."""
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id
    return pulumi.Output.all(partition, region, account_id, cluster_name, vpc_id).apply(
        lambda parts: PolicyScope(*parts)
    )


def pod_identity_trust_policy(
    scope: pulumi.Input[PolicyScope], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Only EKS Pod Identity may assume the role, and only for one service account of one cluster.

    Pod Identity needs both actions: it tags the session with the pod's cluster (ARN and name),
    namespace and service account, and the condition checks those tags.
    """
    return pulumi.Output.from_input(scope).apply(
        lambda where: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "pods.eks.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Condition": {
                            "StringEquals": {
                                POD_IDENTITY_CLUSTER_ARN_TAG: where.cluster_arn,
                                POD_IDENTITY_CLUSTER_TAG: where.cluster_name,
                                POD_IDENTITY_NAMESPACE_TAG: namespace,
                                POD_IDENTITY_SERVICE_ACCOUNT_TAG: service_account,
                            }
                        },
                    }
                ],
            }
        )
    )


def node_role(
    name: str,
    partition: pulumi.Input[str],
    parent: pulumi.Resource,
    *,
    role_name: pulumi.Input[str] | None = None,
    description: str = "Armful node role: join EKS, VPC CNI, pull from ECR",
    tags: dict[str, str] | None = None,
) -> RoleWithPolicies:
    """The role nodes assume: EC2 only, with what a node needs and nothing more. ``role_name`` names it where
    a policy must name it in turn (Karpenter's controller may pass only its nodes' role)."""
    role = aws.iam.Role(
        name,
        name=role_name,
        assume_role_policy=json.dumps(_EC2_TRUST),
        description=description,
        tags=tags or None,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = tuple(
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=pulumi.ResourceOptions(parent=role),
        )
        for policy in NODE_MANAGED_POLICIES
    )
    return RoleWithPolicies(role, attachments)


def pod_identity_role(
    name: str,
    partition: pulumi.Input[str],
    parent: pulumi.Resource,
    *,
    region: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    namespace: str,
    identity: PodIdentity,
    vpc_id: pulumi.Input[str] | None = None,
) -> RoleWithPolicies:
    """A role that only EKS Pod Identity can assume, for one service account, with what one add-on needs."""
    scope = policy_scope(partition, region, cluster_name, parent, vpc_id)
    role = aws.iam.Role(
        name,
        assume_role_policy=pod_identity_trust_policy(scope, namespace, identity.service_account),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policies: list[pulumi.Resource] = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=pulumi.ResourceOptions(parent=role),
        )
        for policy in identity.managed_policies
    ]
    document: pulumi.Output[str] | None = None
    if identity.scoped_inline_policy is not None:
        document = scope.apply(lambda where, policy=identity.scoped_inline_policy: json.dumps(policy(where)))
    elif identity.inline_policy is not None:
        document = pulumi.Output.from_input(partition).apply(
            lambda p, policy=identity.inline_policy: json.dumps(policy(p))
        )
    if document is not None:
        policies.append(
            aws.iam.RolePolicy(
                f"{name}-policy", role=role.id, policy=document, opts=pulumi.ResourceOptions(parent=role)
            )
        )
    return RoleWithPolicies(role, tuple(policies))


def stack_region(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The stack's region, ``aws:region``, or else the default provider's."""
    configured = pulumi.Config("aws").get("region")
    if configured:
        return pulumi.Output.from_input(configured)
    return aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region


def is_listed_principal(caller_arn: str, principal_arns: Sequence[str]) -> bool:
    """Whether requests made with ``caller_arn``'s credentials (what ``aws sts get-caller-identity``
    prints) come from one of ``principal_arns``: a role's session is its role, matched by account and
    name (a session's ARN leaves out the role's path; IAM role names are unique in an account), and IAM
    names are compared regardless of case, as IAM does."""
    role = role_of_assumed_role(caller_arn)
    if role is None:
        return caller_arn.lower() in {arn.lower() for arn in principal_arns}
    account_prefix, name = role.lower().split(":role/", 1)
    for arn in principal_arns:
        head, separator, path = arn.lower().partition(":role/")
        if separator and head == account_prefix and path.rsplit("/", 1)[-1] == name:
            return True
    return False
