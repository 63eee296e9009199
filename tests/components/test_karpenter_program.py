"""Karpenter in the stack program, under mocks: what AWS gets, what the cluster gets, and in which order.

all-arm runs its bursts on two Karpenter NodePools in a VPC Armful creates; mixed is run with Karpenter
turned on, for a VPC the user gives.
"""

from __future__ import annotations

import copy
import json
import runpy
from functools import cache
from typing import Any

import pytest
from example_stacks import GRAFANA_PASSWORD, ROOT, SECRET_KEYS, run_stack_program, stack_file_config
from pulumi_harness import ACCOUNT_ID, RecordingMocks, Registration, reveal, run_program

from armful.addons.karpenter import controller_policy
from armful.addons.spec import PolicyScope

QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
TAG = "aws:ec2/tag:Tag"
SUBNET = "aws:ec2/subnet:Subnet"
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_GROUP = "eks:index:ManagedNodeGroup"
K8S_PROVIDER = "pulumi:providers:kubernetes"
CLUSTER = "analytics-all-arm"


@cache
def all_arm() -> RecordingMocks:
    return run_stack_program("all-arm")


@cache
def mixed_with_karpenter() -> RecordingMocks:
    config = copy.deepcopy(stack_file_config("mixed"))
    config["armful:addons"] = {"karpenter": {"enabled": True}}
    config["armful:systemPool"]["minSize"] = 4
    config["armful:grafanaAdminPassword"] = GRAFANA_PASSWORD
    return run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py")), config, stack="mixed", secret_keys=SECRET_KEYS
    )


def karpenter_release(mocks: RecordingMocks) -> Registration:
    return next(r for r in mocks.of_type(RELEASE) if r.inputs["name"] == "karpenter")


def test_the_interruption_queue_is_encrypted_short_lived_and_tls_only() -> None:
    mocks = all_arm()
    queue = mocks.one(QUEUE)
    assert queue.inputs["name"] == f"{CLUSTER}-karpenter"
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 300
    policy = json.loads(mocks.one(QUEUE_POLICY).inputs["policy"])
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert allow["Action"] == "sqs:SendMessage"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Resource"] == deny["Resource"] == f"arn:aws:sqs:us-west-2:111122223333:{CLUSTER}-karpenter"


def test_every_interruption_event_karpenter_handles_reaches_the_queue() -> None:
    mocks = all_arm()
    patterns = sorted(
        (pattern["source"][0], pattern["detail-type"][0])
        for pattern in (json.loads(rule.inputs["eventPattern"]) for rule in mocks.of_type(RULE))
    )
    assert patterns == [
        ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"),
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("aws.health", "AWS Health Event"),
    ]
    queue_arn = f"arn:aws:sqs:us-west-2:111122223333:{CLUSTER}-karpenter"
    targets = mocks.of_type(TARGET)
    assert len(targets) == 5 and all(target.inputs["arn"] == queue_arn for target in targets)
    # A target may send only once the queue's policy lets EventBridge in.
    policy = mocks.one(QUEUE_POLICY)
    assert all(mocks.waits_for(target, policy) for target in targets)


def test_the_node_role_joins_the_cluster_through_an_ec2_linux_access_entry() -> None:
    mocks = all_arm()
    role = next(r for r in mocks.of_type(ROLE) if r.inputs.get("name") == f"{CLUSTER}-karpenter-node")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    entries = [e for e in mocks.of_type(ACCESS_ENTRY) if e.inputs.get("type") == "EC2_LINUX"]
    (entry,) = entries
    assert entry.inputs["principalArn"] == f"arn:aws:iam::111122223333:role/{CLUSTER}-karpenter-node"
    assert entry.inputs["clusterName"] == CLUSTER


def test_the_controller_role_is_pod_identity_with_upstreams_policy_scoped_to_this_cluster() -> None:
    mocks = all_arm()
    (association,) = [a for a in mocks.of_type(POD_IDENTITY) if a.inputs["serviceAccount"] == "karpenter"]
    assert association.inputs["namespace"] == "kube-system"
    policy = next(p for p in mocks.of_type(ROLE_POLICY) if p.name.endswith("-karpenter-policy"))
    document = json.loads(reveal(policy.inputs["policy"]))
    assert document == controller_policy(PolicyScope("aws", "eu-west-1", ACCOUNT_ID, CLUSTER))


def test_discovery_tags_on_the_subnets_armful_creates_and_on_the_cluster_security_group() -> None:
    mocks = all_arm()
    private = [s for s in mocks.of_type(SUBNET) if "-private-" in s.name]
    assert private and all(s.inputs["tags"]["karpenter.sh/discovery"] == CLUSTER for s in private)
    public = [s for s in mocks.of_type(SUBNET) if "-public-" in s.name]
    assert not any("karpenter.sh/discovery" in s.inputs["tags"] for s in public)
    (tag,) = mocks.of_type(TAG)
    assert (tag.inputs["resourceId"], tag.inputs["key"], tag.inputs["value"]) == (
        f"sg-eks-{CLUSTER}",
        "karpenter.sh/discovery",
        CLUSTER,
    )


def test_a_vpc_the_user_gives_gets_its_private_subnets_tagged() -> None:
    mocks = mixed_with_karpenter()
    subnets = stack_file_config("mixed")["armful:network"]["privateSubnetIds"]
    tagged = sorted(
        t.inputs["resourceId"] for t in mocks.of_type(TAG) if not t.inputs["resourceId"].startswith("sg-")
    )
    assert tagged == sorted(subnets)


def test_the_release_waits_for_the_aws_side_and_the_system_pool() -> None:
    mocks = all_arm()
    release = karpenter_release(mocks)
    assert release.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert release.inputs["version"] == "1.14.1"
    values = reveal(release.inputs["values"])
    assert values["settings"] == {"clusterName": CLUSTER, "interruptionQueue": f"{CLUSTER}-karpenter"}
    assert values["nodeSelector"]["node.armful.dev/role"] == "system"
    for type_ in (QUEUE, QUEUE_POLICY, ACCESS_ENTRY, RULE, TARGET, TAG):
        for earlier in mocks.of_type(type_):
            assert mocks.waits_for(release, earlier), (type_, earlier.name)
    system = next(g for g in mocks.of_type(NODE_GROUP) if g.name.endswith("-system"))
    assert mocks.waits_for(release, system)


def test_node_classes_and_node_pools_come_after_the_release_on_the_clusters_provider() -> None:
    mocks = all_arm()
    release = karpenter_release(mocks)
    pools = mocks.of_type(NODE_POOL)
    classes = mocks.of_type(NODE_CLASS)
    assert sorted(p.inputs["metadata"]["name"] for p in pools) == ["elastic", "memory"]
    assert [c.inputs["metadata"]["name"] for c in classes] == ["bottlerocket"]
    component = next(r for r in mocks.registrations if r.type == "armful:index:KarpenterNodePools")
    (provider,) = mocks.of_type(K8S_PROVIDER)
    for obj in (*pools, *classes):
        assert mocks.waits_for(obj, release), obj.name
        assert obj.parent == component.urn
        assert obj.provider is not None and obj.provider.startswith(provider.urn)
    for pool in pools:
        assert mocks.waits_for(pool, classes[0])


def test_the_node_class_boots_the_dated_release_eks_publishes_with_the_node_role() -> None:
    (node_class,) = all_arm().of_type(NODE_CLASS)
    spec = node_class.inputs["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.55.0"}]
    assert spec["role"] == f"{CLUSTER}-karpenter-node"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_karpenter_resources_exist_only_where_a_stack_enables_it() -> None:
    mocks = run_stack_program("arm-workers")
    for type_ in (QUEUE, RULE, NODE_POOL, NODE_CLASS, TAG):
        assert mocks.of_type(type_) == [], type_
    assert all(r.inputs["name"] != "karpenter" for r in mocks.of_type(RELEASE))


@pytest.mark.parametrize(
    "statement", controller_policy(PolicyScope("aws", "eu-west-1", ACCOUNT_ID, CLUSTER))["Statement"]
)
def test_each_controller_statement_is_scoped_or_read_only(statement: dict[str, Any]) -> None:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if resources == ["*"]:
        # Describe and list calls name no resource; EC2's are held to this region.
        assert all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in actions), statement
        if any(a.startswith("ec2:") for a in actions):
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
        return
    for resource in resources:
        assert resource.startswith("arn:aws:"), resource
        region_or_global = resource.split(":")[3]
        assert region_or_global in ("eu-west-1", ""), resource
    writes = [a for a in actions if not a.split(":")[1].startswith(("Describe", "Get", "List"))]
    mutating_ec2 = [
        a for a in writes if a.startswith("ec2:") and a not in ("ec2:RunInstances", "ec2:CreateFleet")
    ]
    if mutating_ec2 or statement["Sid"].startswith("AllowScopedInstanceProfile"):
        # Whatever it creates, tags or deletes carries this cluster's ownership tag.
        assert f"kubernetes.io/cluster/{CLUSTER}" in json.dumps(statement["Condition"]), statement["Sid"]
    if "iam:PassRole" in actions:
        assert resources == [f"arn:aws:iam::{ACCOUNT_ID}:role/{CLUSTER}-karpenter-node"]


PARAMETER = "aws:ssm/parameter:Parameter"


def _with_cluster(**changes: Any) -> RecordingMocks:
    config = copy.deepcopy(stack_file_config("all-arm"))
    config["armful:cluster"] = {**config["armful:cluster"], **changes}
    config["armful:grafanaAdminPassword"] = GRAFANA_PASSWORD
    return run_program(
        lambda: runpy.run_path(str(ROOT / "__main__.py")), config, stack="all-arm", secret_keys=SECRET_KEYS
    )


def test_a_pinned_node_class_keeps_its_release_per_kubernetes_version() -> None:
    """The release a pinned EC2NodeClass boots is kept in a parameter named for the Kubernetes version: a
    newer release of the same version leaves it, an upgrade makes a new one at the new version's release."""
    (kept,) = all_arm().of_type(PARAMETER)
    assert kept.inputs["name"] == f"/armful/{CLUSTER}/karpenter/bottlerocket/1.35/ami-release"
    assert kept.inputs["insecureValue"] == "1.55.0-20260401"
    (node_class,) = all_arm().of_type(NODE_CLASS)
    assert all_arm().waits_for(node_class, kept)
    # The newest version EKS has is the examples' 1.35: the same stack at 1.34 stands for the version before.
    upgraded = _with_cluster(kubernetesVersion="1.34")
    (moved,) = upgraded.of_type(PARAMETER)
    assert moved.name != kept.name, "a new parameter, not the old one updated (which ignores its value)"
    assert moved.inputs["name"] == f"/armful/{CLUSTER}/karpenter/bottlerocket/1.34/ami-release"


def test_node_classes_following_the_newest_release_keep_nothing() -> None:
    latest = _with_cluster(nodeAmiRelease="latest")
    assert latest.of_type(PARAMETER) == []
    (node_class,) = latest.of_type(NODE_CLASS)
    assert reveal(node_class.inputs["spec"])["amiSelectorTerms"] == [{"alias": "bottlerocket@v1.55.0"}]
