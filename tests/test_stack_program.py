"""The real stack program (``__main__.py``) under Pulumi mocks, for each example stack (design §7, §8).

Each example stack's program runs once per module (``_program``); the tests then read what it asked
the cloud for. Expected values are written out from the stack files by hand, not computed with Armful's
planner, so a planning regression shows up as a wrong resource input.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import runpy
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from example_stacks import EXAMPLE_STACKS, GRAFANA_PASSWORD, ROOT, SECRET_KEYS, stack_file_config
from pulumi_harness import RecordingMocks, Registration, addon_version_answer, run_program

from armful.core.errors import StackConfigError
from armful.node_pools import NODE_GROUP_TYPE, rolling_update_transform
from armful.planning.plan import PlanError

PROGRAM = ROOT / "__main__.py"

NODE_GROUP = "eks:index:ManagedNodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CLUSTER = "eks:index:Cluster"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"

ADMIN_ARN = "arn:aws:iam::111122223333:role/platform-admin"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CRITICAL_TOLERATION = {
    "key": "CriticalAddonsOnly",
    "operator": "Equal",
    "value": "true",
    "effect": "NoSchedule",
}
SYSTEM_SELECTOR = {"node.armful.dev/role": "system"}

CRITICAL = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
SPOT = {"key": "example.com/spot", "value": "true", "effect": "NO_SCHEDULE"}
AMD64_OPT_IN = {"key": "kubernetes.io/arch", "value": "amd64", "effect": "NO_SCHEDULE"}
X86_AMI = "AL2023_x86_64_STANDARD"
ARM_AMI = "AL2023_ARM_64_STANDARD"
BOTTLEROCKET_ARM_AMI = "BOTTLEROCKET_ARM_64"


@dataclass(frozen=True)
class ExpectedPool:
    ami_type: str
    instance_types: list[str]
    role: str
    taints: list[dict[str, str]]
    sizes: tuple[int, int, int]  # min, desired, max
    devices: list[tuple[str, int | None]]  # device, size (None: the AMI's)
    max_unavailable: int
    capacity_type: str = "ON_DEMAND"
    extra_labels: dict[str, str] = field(default_factory=dict)


EXPECTED_POOLS: dict[str, dict[str, ExpectedPool]] = {
    "arm-workers": {
        "system": ExpectedPool(
            X86_AMI, ["m7i.large", "m6i.large"], "system", [CRITICAL], (3, 3, 6), [("/dev/xvda", 50)], 1
        ),
        "general-arm": ExpectedPool(
            ARM_AMI, ["m8g.xlarge", "m7g.xlarge"], "workers", [], (2, 3, 12), [("/dev/xvda", 80)], 3
        ),
        "batch-arm-spot": ExpectedPool(
            ARM_AMI,
            ["c8g.2xlarge", "c7g.2xlarge", "c7gn.2xlarge"],
            "workers",
            [SPOT],
            (0, 0, 20),
            [("/dev/xvda", 50)],
            5,
            capacity_type="SPOT",
            extra_labels={"example.com/workload": "batch"},
        ),
    },
    "all-arm": {
        "system": ExpectedPool(
            BOTTLEROCKET_ARM_AMI,
            ["m7g.large", "m6g.large"],
            "system",
            [CRITICAL],
            (4, 4, 6),
            [("/dev/xvda", None), ("/dev/xvdb", 50)],
            1,
        ),
        "general": ExpectedPool(
            BOTTLEROCKET_ARM_AMI,
            ["m8g.2xlarge", "m7g.2xlarge"],
            "workers",
            [],
            (3, 3, 15),
            [("/dev/xvda", None), ("/dev/xvdb", 50)],
            3,
        ),
    },
    "mixed": {
        "system": ExpectedPool(
            ARM_AMI, ["m7g.large", "m8g.large"], "system", [CRITICAL], (3, 3, 6), [("/dev/xvda", 50)], 1
        ),
        "arm": ExpectedPool(
            ARM_AMI, ["m8g.xlarge", "m7g.xlarge"], "workers", [], (2, 2, 12), [("/dev/xvda", 50)], 3
        ),
        "x86-legacy": ExpectedPool(
            X86_AMI,
            ["m7i.xlarge", "m6i.xlarge"],
            "workers",
            [AMD64_OPT_IN],
            (1, 1, 6),
            [("/dev/xvda", 50)],
            1,
        ),
    },
}
POOL_CASES = [(stack, pool) for stack, pools in EXPECTED_POOLS.items() for pool in pools]
POOL_IDS = [f"{stack}/{pool}" for stack, pool in POOL_CASES]

CLUSTER_NAMES = {"arm-workers": "shop-arm-workers", "all-arm": "analytics-all-arm", "mixed": "payments-mixed"}
PUBLIC_CIDRS = {"arm-workers": ["203.0.113.0/24"], "all-arm": [], "mixed": []}
CREATED_VPC_CIDRS = {"arm-workers": "10.20.0.0/16", "all-arm": "10.30.0.0/16"}
MIXED_VPC = "vpc-0a1b2c3d4e5f60718"
MIXED_PRIVATE_SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
MIXED_PUBLIC_SUBNETS = ["subnet-0a1b2c3d4e5f60101", "subnet-0a1b2c3d4e5f60102", "subnet-0a1b2c3d4e5f60103"]
MOCK_ZONES = {"us-west-2a", "us-west-2b", "us-west-2c"}  # the harness answers four; three are used
# ArmCluster("armful") names its children after itself: "armful-pools" holds the node groups, and so on.
POOLS = "armful-pools"
MANAGED_ADDONS = "armful-managed-addons"


@dataclass
class TransformRecordingMocks(RecordingMocks):
    """Also keeps the transforms each resource declares (the mock monitor passes them, never runs them)."""

    transforms: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.transforms[(args.typ, args.name)] = list(args.transforms)
        return super().new_resource(args)


@dataclass
class ProgramRun:
    mocks: TransformRecordingMocks
    namespace: dict[str, Any]
    """The program's module globals: ``cluster`` is the ArmCluster it built."""


def _run_main(
    stack: str,
    config: dict[str, Any],
    mocks: RecordingMocks,
    expect_failure: bool = False,
    secret_keys: Sequence[str] = SECRET_KEYS,
) -> dict[str, Any]:
    namespace: dict[str, Any] = {}

    def program() -> None:
        if expect_failure:
            # A failed registration leaves every dependent output holding the same error; asyncio would
            # log each as "exception was never retrieved" when they are freed, long after the test.
            asyncio.get_event_loop().set_exception_handler(_ignore_unretrieved)
        namespace.update(runpy.run_path(str(PROGRAM)))

    run_program(program, config, mocks, stack=stack, secret_keys=secret_keys)
    return namespace


def _ignore_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if "never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)


def _stack_config(stack: str) -> dict[str, Any]:
    """The stack file's config plus the secret a real stack sets with ``pulumi config set --secret``."""
    return {**copy.deepcopy(stack_file_config(stack)), "armful:grafanaAdminPassword": GRAFANA_PASSWORD}


@functools.cache
def _program(stack: str) -> ProgramRun:
    mocks = TransformRecordingMocks()
    return ProgramRun(mocks, _run_main(stack, _stack_config(stack), mocks))


def _inputs(stack: str, type_: str, name: str | None = None) -> dict[str, Any]:
    return _program(stack).mocks.one(type_, name).inputs


def _cluster(stack: str) -> dict[str, Any]:
    return _inputs(stack, CLUSTER)


def _registered_under(stack: str, type_: str, prefix: str) -> list[Registration]:
    return sorted(
        (r for r in _program(stack).mocks.of_type(type_) if r.name.startswith(prefix)), key=lambda r: r.name
    )


def _config_values(stack: str, addon: str) -> dict[str, Any]:
    return json.loads(_inputs(stack, ADDON, f"{MANAGED_ADDONS}-{addon}")["configurationValues"])


def _node_group(stack: str, pool: str) -> dict[str, Any]:
    return _inputs(stack, NODE_GROUP, f"{POOLS}-{pool}")


def _launch_template(stack: str, pool: str) -> Registration:
    return _program(stack).mocks.one(LAUNCH_TEMPLATE, f"{POOLS}-{pool}-nodes")


# --- node pools ----------------------------------------------------------------------------------


def test_every_pool_is_one_managed_node_group(example_stack: str) -> None:
    names = sorted(r.name for r in _program(example_stack).mocks.of_type(NODE_GROUP))
    assert names == sorted(f"{POOLS}-{pool}" for pool in EXPECTED_POOLS[example_stack])


@pytest.mark.parametrize(("stack", "pool"), POOL_CASES, ids=POOL_IDS)
def test_node_group_inputs(stack: str, pool: str) -> None:
    expected = EXPECTED_POOLS[stack][pool]
    group = _node_group(stack, pool)
    assert group["amiType"] == expected.ami_type
    assert group["instanceTypes"] == expected.instance_types
    assert group["labels"] == {
        "node.armful.dev/pool": pool,
        "node.armful.dev/role": expected.role,
        **expected.extra_labels,
    }
    assert group["taints"] == expected.taints
    assert group["capacityType"] == expected.capacity_type
    min_size, desired, max_size = expected.sizes
    assert group["scalingConfig"] == {"minSize": min_size, "desiredSize": desired, "maxSize": max_size}
    assert group["ignoreScalingChanges"] is True


@pytest.mark.parametrize(("stack", "pool"), POOL_CASES, ids=POOL_IDS)
def test_node_group_is_auto_named_and_uses_its_launch_template(stack: str, pool: str) -> None:
    group = _node_group(stack, pool)
    assert "nodeGroupName" not in group, "a fixed name blocks create-before-delete on arch changes"
    assert "nodeGroupNamePrefix" not in group
    template = _launch_template(stack, pool)
    assert group["launchTemplate"] == {"id": f"{template.name}-id", "version": "1"}


def _transformed_node_group(stack: str, pool: str) -> pulumi.ResourceTransformArgs:
    """The child node group pulumi-eks creates, as the pool's transforms leave it (the mocks never run them)."""
    transforms = _program(stack).mocks.transforms[(NODE_GROUP, f"{POOLS}-{pool}")]
    # pulumi-eks ignores desired-size changes itself; the transforms must keep that.
    args = pulumi.ResourceTransformArgs(
        custom=True,
        type_=NODE_GROUP_TYPE,
        name=f"{pool}-nodeGroup",
        props={"amiType": "x"},
        opts=pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"]),
    )
    for transform in transforms:
        result = transform(args)
        if result is not None:
            args = pulumi.ResourceTransformArgs(args.custom, args.type_, args.name, result.props, result.opts)
    return args


@pytest.mark.parametrize(("stack", "pool"), POOL_CASES, ids=POOL_IDS)
def test_node_group_rolling_update_max_unavailable(stack: str, pool: str) -> None:
    transformed = _transformed_node_group(stack, pool)
    assert transformed.props["updateConfig"] == {
        "maxUnavailable": EXPECTED_POOLS[stack][pool].max_unavailable
    }


@pytest.mark.parametrize(("stack", "pool"), POOL_CASES, ids=POOL_IDS)
def test_node_group_keeps_its_ami_release_and_pulumi_eks_ignored_changes(stack: str, pool: str) -> None:
    ignored = _transformed_node_group(stack, pool).opts.ignore_changes
    assert ignored == ["scalingConfig.desiredSize", "releaseVersion"]


@pytest.mark.parametrize(("stack", "pool"), POOL_CASES, ids=POOL_IDS)
def test_launch_template_hardening(stack: str, pool: str) -> None:
    template = _launch_template(stack, pool).inputs
    metadata = template["metadataOptions"]
    assert metadata["httpTokens"] == "required"
    assert metadata["httpPutResponseHopLimit"] == 1
    assert metadata.get("httpEndpoint", "enabled") == "enabled"
    assert "keyName" not in template, "no SSH key on nodes"
    devices = template["blockDeviceMappings"]
    assert [(d["deviceName"], d["ebs"].get("volumeSize")) for d in devices] == EXPECTED_POOLS[stack][
        pool
    ].devices
    assert all(d["ebs"]["encrypted"] in (True, "true") for d in devices)


def test_node_groups_run_in_private_subnets(example_stack: str) -> None:
    private = _cluster(example_stack)["privateSubnetIds"]
    assert len(set(private)) >= 2
    for group in _program(example_stack).mocks.of_type(NODE_GROUP):
        assert group.inputs["subnetIds"] == private, group.name
    assert _cluster(example_stack)["nodeAssociatePublicIpAddress"] is False


def test_node_role_has_exactly_the_three_managed_policies(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    node_roles = [
        r
        for r in mocks.of_type(ROLE)
        if json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]
        == {"Service": "ec2.amazonaws.com"}
    ]
    # The node groups' role, and Karpenter's where a stack enables it.
    karpenter = bool(stack_file_config(example_stack).get("armful:addons", {}).get("karpenter"))
    assert len(node_roles) == 1 + karpenter
    for node_role in node_roles:
        role_name = node_role.inputs.get("name") or node_role.name  # the harness answers a role's name
        attached = sorted(
            a.inputs["policyArn"] for a in mocks.of_type(ATTACHMENT) if a.inputs["role"] == role_name
        )
        assert attached == [
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ]


def test_every_instance_type_is_checked_with_ec2(example_stack: str) -> None:
    asked = {
        args["instanceType"]
        for token, args in _program(example_stack).mocks.calls
        if token == "aws:ec2/getInstanceType:getInstanceType"
    }
    planned = {t for pool in EXPECTED_POOLS[example_stack].values() for t in pool.instance_types}
    assert asked == planned


def test_ec2_disagreeing_with_the_table_fails_the_program() -> None:
    mocks = RecordingMocks(ec2_architectures={"m8g.xlarge": ["x86_64"]})
    with pytest.raises(ValueError) as caught:
        _run_main("arm-workers", _stack_config("arm-workers"), mocks, expect_failure=True)
    message = str(caught.value)
    assert "armful:workerPools[0].instanceTypes: " in message
    assert "'general-arm'" in message
    assert "m8g.xlarge" in message
    assert "x86_64" in message
    assert "Fix: " in message


def test_ec2_disagreeing_with_the_catalogs_figures_fails_the_program() -> None:
    mocks = RecordingMocks(ec2_figures={"m7g.large": (2, 4096)})
    with pytest.raises(ValueError) as caught:
        _run_main("all-arm", _stack_config("all-arm"), mocks, expect_failure=True)
    message = str(caught.value)
    assert "armful:systemPool.instanceTypes: " in message
    assert "EC2 says m7g.large has 2 vCPUs and 4096 MiB" in message
    assert "8192 MiB" in message and "Fix: " in message


# --- cluster --------------------------------------------------------------------------------------


def test_cluster_security_baseline(example_stack: str) -> None:
    cluster = _cluster(example_stack)
    assert cluster["name"] == CLUSTER_NAMES[example_stack]
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["authenticationMode"] == "API"
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["deletionProtection"] is True
    assert cluster["createOidcProvider"] is True
    assert sorted(cluster["enabledClusterLogTypes"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )


def test_cluster_public_endpoint_per_stack(example_stack: str) -> None:
    cluster = _cluster(example_stack)
    cidrs = PUBLIC_CIDRS[example_stack]
    assert cluster["endpointPublicAccess"] is bool(cidrs)
    assert (cluster.get("publicAccessCidrs") or []) == cidrs
    assert "0.0.0.0/0" not in (cluster.get("publicAccessCidrs") or [])


def test_cluster_admin_access_entry(example_stack: str) -> None:
    entries = list(_cluster(example_stack)["accessEntries"].values())
    assert len(entries) == 1
    assert entries[0]["principalArn"] == ADMIN_ARN
    policies = list(entries[0]["accessPolicies"].values())
    assert policies == [{"policyArn": CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}]


def test_secrets_encrypted_with_a_rotating_key(example_stack: str) -> None:
    key = _program(example_stack).mocks.one("aws:kms/key:Key", "armful-secrets")
    assert key.inputs["enableKeyRotation"] is True
    # The harness answers a key's arn with its resource name in it.
    assert (
        _cluster(example_stack)["encryptionConfigKeyArn"]
        == f"arn:aws:kms:us-west-2:111122223333:key/{key.name}"
    )


def test_cluster_and_key_are_protected(example_stack: str) -> None:
    """The mocks do not see resource options; the SDK keeps ``protect`` on each resource object."""
    arm_cluster = _program(example_stack).namespace["cluster"]
    assert arm_cluster.cluster._protect is True
    keys = {child._name: child for child in arm_cluster._childResources if isinstance(child, aws.kms.Key)}
    assert set(keys) == {"armful-secrets", "armful-logs"}
    assert keys["armful-secrets"]._protect is True


def test_one_kubernetes_provider_for_every_in_cluster_resource(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    (provider,) = mocks.of_type("pulumi:providers:kubernetes")
    assert json.loads(provider.inputs["kubeconfig"])["clusters"][0]["cluster"]["server"] == (
        f"https://{CLUSTER_NAMES[example_stack]}.eks.test"
    )
    in_cluster = [r for r in mocks.registrations if r.type.startswith("kubernetes:")]
    assert all(r.provider and f"::{provider.name}::" in r.provider for r in in_cluster), [
        (r.name, r.provider) for r in in_cluster
    ]


# --- EKS managed add-ons --------------------------------------------------------------------------


def test_managed_addons_registered(example_stack: str) -> None:
    addons = {r.inputs["addonName"]: r.inputs for r in _program(example_stack).mocks.of_type(ADDON)}
    assert {"coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver"} <= set(addons)
    assert {r.name for r in _program(example_stack).mocks.of_type(ADDON)} >= {
        f"{MANAGED_ADDONS}-{addon}" for addon in addons
    }
    assert all(inputs["clusterName"] == CLUSTER_NAMES[example_stack] for inputs in addons.values())


@pytest.mark.parametrize(("addon", "path"), [("coredns", ()), ("aws-ebs-csi-driver", ("controller",))])
def test_addon_controllers_go_to_the_system_pool(
    example_stack: str, addon: str, path: tuple[str, ...]
) -> None:
    values = _config_values(example_stack, addon)
    for key in path:
        values = values[key]
    assert values["nodeSelector"] == SYSTEM_SELECTOR
    assert CRITICAL_TOLERATION in values["tolerations"]


def test_ebs_csi_node_reaches_every_pool(example_stack: str) -> None:
    assert _config_values(example_stack, "aws-ebs-csi-driver")["node"]["tolerateAllTaints"] is True


def test_a_coredns_override_reaches_eks_and_one_that_strands_it_registers_nothing() -> None:
    config = _stack_config("all-arm")
    config["armful:addons"] = {**config.get("armful:addons", {}), "coredns": {"values": {"replicaCount": 3}}}
    mocks = RecordingMocks()
    _run_main("all-arm", config, mocks)
    coredns = json.loads(mocks.one(ADDON, f"{MANAGED_ADDONS}-coredns").inputs["configurationValues"])
    assert coredns["replicaCount"] == 3 and coredns["nodeSelector"] == SYSTEM_SELECTOR

    config["armful:addons"]["coredns"] = {"values": {"nodeSelector": {"example.com/dns": "yes"}}}
    stranded = RecordingMocks()
    with pytest.raises(PlanError, match=r"\[stranded\] coredns Deployment coredns"):
        _run_main("all-arm", config, stranded)
    assert stranded.registrations == []


def test_ebs_csi_uses_pod_identity(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    (association,) = _inputs(example_stack, ADDON, f"{MANAGED_ADDONS}-aws-ebs-csi-driver")[
        "podIdentityAssociations"
    ]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    roles = [
        r for r in mocks.of_type(ROLE) if association["roleArn"] == f"arn:aws:iam::111122223333:role/{r.name}"
    ]
    assert len(roles) == 1
    statement = json.loads(roles[0].inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(statement["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    attached = [a.inputs["policyArn"] for a in mocks.of_type(ATTACHMENT) if a.inputs["role"] == roles[0].name]
    assert attached == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]


# --- network --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", list(CREATED_VPC_CIDRS))
def test_created_vpc_spreads_subnets_and_nat_over_three_zones(stack: str) -> None:
    mocks = _program(stack).mocks
    vpc = mocks.one("aws:ec2/vpc:Vpc")
    network = IPv4Network(vpc.inputs["cidrBlock"])
    assert str(network) == CREATED_VPC_CIDRS[stack]
    private = _registered_under(stack, SUBNET, "armful-network-private-")
    public = _registered_under(stack, SUBNET, "armful-network-public-")
    assert len(private) == len(public) == 3
    for subnets in (private, public):
        assert {s.inputs["availabilityZone"] for s in subnets} == MOCK_ZONES
    blocks = [IPv4Network(s.inputs["cidrBlock"]) for s in private + public]
    assert all(block.subnet_of(network) for block in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    cluster_tag = f"kubernetes.io/cluster/{CLUSTER_NAMES[stack]}"
    assert all(
        s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" and cluster_tag in s.inputs["tags"]
        for s in private
    )
    assert all(
        s.inputs["tags"]["kubernetes.io/role/elb"] == "1" and cluster_tag in s.inputs["tags"] for s in public
    )

    nat_subnets = sorted(n.inputs["subnetId"] for n in mocks.of_type(NAT_GATEWAY))
    assert nat_subnets == sorted(f"{s.name}-id" for s in public), (
        "one NAT gateway in each zone's public subnet"
    )
    private_routes = _registered_under(stack, "aws:ec2/routeTable:RouteTable", "armful-network-private-")
    nat_targets = [route["natGatewayId"] for table in private_routes for route in table.inputs["routes"]]
    assert len(set(nat_targets)) == 3, "each zone's private subnets leave through their own NAT gateway"

    cluster = _cluster(stack)
    assert cluster["vpcId"] == f"{vpc.name}-id"
    assert cluster["privateSubnetIds"] == [f"{s.name}-id" for s in private]
    assert cluster["publicSubnetIds"] == [f"{s.name}-id" for s in public]


def test_existing_vpc_is_used_as_given() -> None:
    mocks = _program("mixed").mocks
    for created in (
        "aws:ec2/vpc:Vpc",
        SUBNET,
        NAT_GATEWAY,
        "aws:ec2/eip:Eip",
        "aws:ec2/internetGateway:InternetGateway",
    ):
        assert mocks.of_type(created) == [], created
    cluster = _cluster("mixed")
    assert cluster["vpcId"] == MIXED_VPC
    assert cluster["privateSubnetIds"] == MIXED_PRIVATE_SUBNETS
    assert cluster["publicSubnetIds"] == MIXED_PUBLIC_SUBNETS


# --- config errors stop the program before anything is created ------------------------------------


def _broken(stack: str, change: Any) -> dict[str, Any]:
    config = _stack_config(stack)
    change(config)
    return config


def _typo_in_endpoint(config: dict[str, Any]) -> None:
    config["armful:cluster"]["endpoint"] = {"publicAcessCidrs": ["203.0.113.0/24"]}


def _unknown_top_level_key(config: dict[str, Any]) -> None:
    config["armful:workerPool"] = config.pop("armful:workerPools")


def _open_to_internet(config: dict[str, Any]) -> None:
    config["armful:cluster"]["endpoint"] = {"publicAccessCidrs": ["0.0.0.0/0"]}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (_typo_in_endpoint, "armful:cluster.endpoint.publicAcessCidrs"),
        (_unknown_top_level_key, "armful:workerPool"),
        (_open_to_internet, "armful:cluster.endpoint.publicAccessCidrs"),
    ],
    ids=["nested-typo", "top-level-typo", "open-to-internet"],
)
def test_invalid_config_registers_nothing(change: Any, path: str) -> None:
    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as caught:
        _run_main("arm-workers", _broken("arm-workers", change), mocks)
    assert path in {issue.path for issue in caught.value.issues}
    assert mocks.registrations == []


def _min_above_max(config: dict[str, Any]) -> None:
    config["armful:workerPools"][0]["minSize"] = 30


def _x86_worker(config: dict[str, Any]) -> None:
    config["armful:workerPools"][1]["instanceTypes"] = ["c7i.2xlarge"]


def _no_region(config: dict[str, Any]) -> None:
    del config["aws:region"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (_min_above_max, "armful:workerPools[0].minSize"),
        (_x86_worker, "armful:workerPools[1].instanceTypes"),
        (_no_region, "aws:region"),
    ],
    ids=["min-greater-than-max", "x86-worker-in-arm-workers", "no-region"],
)
def test_pool_rule_errors_stop_the_program_before_any_cloud_resource(change: Any, path: str) -> None:
    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as caught:
        _run_main("arm-workers", _broken("arm-workers", change), mocks)
    assert [issue.path for issue in caught.value.issues] == [path]
    assert [r for r in mocks.registrations if r.custom] == []


# --- rolling_update_transform ---------------------------------------------------------------------


def _transform_args(type_: str, props: dict[str, Any]) -> pulumi.ResourceTransformArgs:
    return pulumi.ResourceTransformArgs(
        custom=True, type_=type_, name="pool-nodeGroup", props=props, opts=pulumi.ResourceOptions()
    )


@pytest.mark.parametrize("max_unavailable", [1, 3, 5])
def test_rolling_update_transform_sets_max_unavailable_on_node_groups(max_unavailable: int) -> None:
    props = {"clusterName": "c", "scalingConfig": {"minSize": 1, "maxSize": 4, "desiredSize": 1}}
    args = _transform_args("aws:eks/nodeGroup:NodeGroup", props)
    result = rolling_update_transform(max_unavailable)(args)
    assert result is not None
    assert result.props == {**props, "updateConfig": {"maxUnavailable": max_unavailable}}
    assert result.opts is args.opts


@pytest.mark.parametrize(
    "type_",
    [NODE_GROUP, LAUNCH_TEMPLATE, "aws:eks/cluster:Cluster", "aws:autoscaling/group:Group"],
    ids=["managed-node-group-component", "launch-template", "eks-cluster", "autoscaling-group"],
)
def test_rolling_update_transform_leaves_other_types_alone(type_: str) -> None:
    assert rolling_update_transform(2)(_transform_args(type_, {"name": "x"})) is None


def test_example_stacks_are_the_ones_tested() -> None:
    assert set(EXAMPLE_STACKS) == set(EXPECTED_POOLS)


# --- control plane: support policy and its log group ----------------------------------------------

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_cluster_is_on_standard_support_unless_extended_support_is_allowed(example_stack: str) -> None:
    """EKS's own default is EXTENDED, which bills extended support without asking."""
    assert _cluster(example_stack)["upgradePolicy"] == {"supportType": "STANDARD"}


def test_allowing_extended_support_keeps_the_cluster_on_extended_support() -> None:
    config = _stack_config("arm-workers")
    config["armful:cluster"]["allowExtendedSupport"] = True
    mocks = RecordingMocks()
    _run_main("arm-workers", config, mocks)
    assert mocks.one(CLUSTER).inputs["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_control_plane_log_group_is_created_first_with_a_retention(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    name = f"/aws/eks/{CLUSTER_NAMES[example_stack]}/cluster"
    (group,) = [r for r in mocks.of_type(LOG_GROUP) if r.inputs["name"] == name]
    assert group.inputs["retentionInDays"] == 90
    assert group.urn in mocks.one(CLUSTER).dependencies, "EKS would create it first, never expiring"


# --- EKS managed add-ons: versions, dependencies ---------------------------------------------------


def test_managed_addons_use_the_default_version_for_the_kubernetes_version(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    asked = [args for token, args in mocks.calls if token == "aws:eks/getAddonVersion:getAddonVersion"]
    assert sorted(args["addonName"] for args in asked) == [
        "aws-ebs-csi-driver",
        "coredns",
        "eks-pod-identity-agent",
        "kube-proxy",
        "vpc-cni",
    ]
    assert all(not args.get("mostRecent") for args in asked), "the newest version floats on every run"
    assert all(args["kubernetesVersion"] == "1.35" for args in asked)
    for addon in mocks.of_type(ADDON):
        assert addon.inputs["addonVersion"] == addon_version_answer(addon.inputs["addonName"], "1.35")
    # vpc-cni and kube-proxy are the cluster's: pulumi-eks would take the newest without a version.
    cluster = _cluster(example_stack)
    assert cluster["vpcCniOptions"]["addonVersion"] == addon_version_answer("vpc-cni", "1.35")
    assert cluster["kubeProxyAddonOptions"]["version"] == addon_version_answer("kube-proxy", "1.35")


def _managed_addon(stack: str, addon: str) -> Registration:
    return _program(stack).mocks.one(ADDON, f"{MANAGED_ADDONS}-{addon}")


def test_managed_addons_that_need_nodes_wait_for_every_node_group(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    groups = mocks.of_type(NODE_GROUP)
    for addon in ("coredns", "aws-ebs-csi-driver"):
        for group in groups:
            assert mocks.waits_for(_managed_addon(example_stack, addon), group), (addon, group.name)


def test_ebs_csi_driver_waits_for_the_pod_identity_agent_and_its_roles_policy(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    ebs = _managed_addon(example_stack, "aws-ebs-csi-driver")
    assert _managed_addon(example_stack, "eks-pod-identity-agent").urn in ebs.dependencies
    role_name = ebs.inputs["podIdentityAssociations"][0]["roleArn"].rsplit("/", 1)[-1]
    (attachment,) = [a for a in mocks.of_type(ATTACHMENT) if a.inputs["role"] == role_name]
    assert attachment.urn in ebs.dependencies


def test_node_groups_wait_for_the_node_roles_policies(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    node_role = mocks.one(ROLE, f"{POOLS}-node-role")
    attachments = [a for a in mocks.of_type(ATTACHMENT) if a.inputs["role"] == node_role.name]
    assert len(attachments) == 3
    for group in mocks.of_type(NODE_GROUP):
        assert {a.urn for a in attachments} <= set(group.dependencies), group.name


# --- Helm releases: the order they install in ------------------------------------------------------

RELEASE = "kubernetes:helm.sh/v3:Release"
POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ADDONS = "armful-addons"


def _release(stack: str, release: str) -> Registration:
    return _program(stack).mocks.one(RELEASE, f"{ADDONS}-{release}")


def test_every_release_waits_for_the_load_balancer_controller_webhook(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    gate = _release(example_stack, "aws-load-balancer-controller")
    others = [r for r in mocks.of_type(RELEASE) if r.urn != gate.urn]
    assert len(others) >= 5
    for release in others:
        assert gate.urn in release.dependencies, release.name
        assert not mocks.waits_for(gate, release), f"the gate must not wait for {release.name}"


def test_kyverno_policies_install_after_kyverno(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    policies = _release(example_stack, "kyverno-policies")
    kyverno = _release(example_stack, "kyverno")
    assert kyverno.urn in policies.dependencies
    assert not mocks.waits_for(kyverno, policies)


def test_releases_wait_for_their_pod_identity_association_and_role_permissions(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    associations = mocks.of_type(POD_IDENTITY_ASSOCIATION)
    assert {a.name for a in associations} >= {
        f"{ADDONS}-aws-load-balancer-controller",
        f"{ADDONS}-fluent-bit",
    }
    for association in associations:
        release = mocks.one(RELEASE, association.name)
        assert association.urn in release.dependencies, release.name
        role_name = association.inputs["roleArn"].rsplit("/", 1)[-1]
        permissions = [
            r
            for r in [*mocks.of_type(ATTACHMENT), *mocks.of_type("aws:iam/rolePolicy:RolePolicy")]
            if r.inputs["role"] in (role_name, f"{role_name}-id")
        ]
        assert permissions, role_name
        assert {p.urn for p in permissions} <= set(release.dependencies), release.name


STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
# Releases whose pods claim volumes: kube-prometheus-stack's Prometheus and Alertmanager.
CLAIMS_VOLUMES = {f"{ADDONS}-kube-prometheus-stack"}


def test_releases_wait_for_what_they_need_and_nothing_more(example_stack: str) -> None:
    """Nodes and the Pod Identity agent for every release; CoreDNS for all but the load balancer
    controller's gate; the StorageClass, and through it the EBS CSI driver, only where volumes are claimed."""
    mocks = _program(example_stack).mocks
    gate = f"{ADDONS}-aws-load-balancer-controller"
    storage = mocks.one(STORAGE_CLASS)
    ebs, coredns = (
        _managed_addon(example_stack, "aws-ebs-csi-driver"),
        _managed_addon(example_stack, "coredns"),
    )
    agent = _managed_addon(example_stack, "eks-pod-identity-agent")
    releases = mocks.of_type(RELEASE)
    assert {release.name for release in releases} >= CLAIMS_VOLUMES
    for release in releases:
        for needed in [*mocks.of_type(NODE_GROUP), agent]:
            assert mocks.waits_for(release, needed), (release.name, needed.name)
        assert mocks.waits_for(release, coredns) is (release.name != gate), release.name
        claims = release.name in CLAIMS_VOLUMES
        assert mocks.waits_for(release, storage) is claims, release.name
        assert mocks.waits_for(release, ebs) is claims, release.name
    assert mocks.waits_for(storage, ebs), "volumes are provisioned by the EBS CSI driver"


# --- Pod Identity trust -----------------------------------------------------------------------------


def test_pod_identity_roles_trust_only_their_service_account_on_this_cluster(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    wanted: dict[str, tuple[str, str]] = {
        a.inputs["roleArn"]: (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in mocks.of_type(POD_IDENTITY_ASSOCIATION)
    }
    for addon in mocks.of_type(ADDON):
        for association in addon.inputs.get("podIdentityAssociations") or []:
            wanted[association["roleArn"]] = ("kube-system", association["serviceAccount"])
    pod_roles = [
        r
        for r in mocks.of_type(ROLE)
        if json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]
        == {"Service": "pods.eks.amazonaws.com"}
    ]
    assert len(pod_roles) == len(wanted) >= 4
    for role in pod_roles:
        namespace, service_account = wanted[f"arn:aws:iam::111122223333:role/{role.name}"]
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert set(statement["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
        region = _stack_config(example_stack)["aws:region"]
        cluster_arn = f"arn:aws:eks:{region}:111122223333:cluster/{CLUSTER_NAMES[example_stack]}"
        assert statement["Condition"] == {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-arn": cluster_arn,
                "aws:RequestTag/eks-cluster-name": CLUSTER_NAMES[example_stack],
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }
        }, role.name


# --- every resource has its own URN -----------------------------------------------------------------


def test_no_two_resources_share_a_urn(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    assert all(r.urn for r in mocks.registrations)
    assert mocks.duplicate_urns() == []


# --- secrets in stack config ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["armful:cluster", "armful:addons", "armful:workerPools"])
def test_a_secret_armful_key_other_than_grafanas_password_is_refused(key: str) -> None:
    """Its value would reach resource inputs and Helm values in plain text, and so the state."""
    mocks = RecordingMocks()
    config = _stack_config("arm-workers")
    config.setdefault("armful:addons", {})
    with pytest.raises(StackConfigError) as caught:
        _run_main("arm-workers", config, mocks, secret_keys=[*SECRET_KEYS, key])
    (issue,) = caught.value.issues
    assert issue.path == key
    assert "secret" in issue.problem and "armful:grafanaAdminPassword" in issue.problem
    assert "without --secret" in issue.fix
    assert mocks.registrations == []


def test_no_output_is_read_as_a_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pulumi turns ``str()`` of an Output into an error with this set: nothing may format one."""
    monkeypatch.setenv("PULUMI_ERROR_OUTPUT_STRING", "1")
    mocks = RecordingMocks()
    _run_main("mixed", _stack_config("mixed"), mocks)
    assert mocks.of_type(ADDON)
