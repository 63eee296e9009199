"""Day 2 under mocks: two runs of the same program, an old config and a new one, compared by what they
register; and the dependency graph the program registers, which orders ``pulumi up``.

- Raising ``kubernetesVersion`` changes versions (control plane, node groups, their AMI release, every
  managed add-on) and nothing's name.
- Reordering or removing admins renames no access entry; an ``assumed-role`` ARN is refused.
- An AZ impaired while ``pulumi up`` runs moves no subnet; zones given by ID are never looked up.
- NAT gateways wait for the internet gateway; node groups for the routes through NAT.
- The creation path estimated over the registered graph, with the table of typical minutes below, is
  within 2% of the limit.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pytest
from example_stacks import ROOT, SECRET_KEYS
from pulumi_harness import RecordingMocks, Registration, addon_version_answer, run_program
from test_stack_program import TransformRecordingMocks, _program, _run_main, _stack_config

from armful.arm_cluster import (
    ACCESS_ENTRY_TYPE,
    ACCESS_POLICY_ASSOCIATION_TYPE,
    access_entry_key,
    former_access_entry_names_transform,
)
from armful.cluster_addons import ClusterAddons
from armful.core.errors import StackConfigError
from armful.eks_managed_addons import EksManagedAddons
from armful.network import Network
from armful.node_pools import NODE_GROUP_TYPE, NodePools
from armful.planning.plan import build_plan
from armful.planning.stack_config import parse_stack_config, strip_namespace

STACK = "arm-workers"
CLUSTER = "eks:index:Cluster"
NODE_GROUP = "eks:index:ManagedNodeGroup"
ADDON = "aws:eks/addon:Addon"
RELEASE = "kubernetes:helm.sh/v3:Release"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
ZONES_TOKEN = "aws:index/getAvailabilityZones:getAvailabilityZones"
PARAMETER_TOKEN = "aws:ssm/getParameter:getParameter"
ADDON_VERSION_TOKEN = "aws:eks/getAddonVersion:getAddonVersion"
GATE = "armful-addons-aws-load-balancer-controller"

ADMIN = "arn:aws:iam::111122223333:role/platform-admin"
AUDITOR = "arn:aws:iam::111122223333:role/auditor"
BREAK_GLASS = "arn:aws:iam::111122223333:user/break-glass"


def _run(
    change: Callable[[dict[str, Any]], None] = lambda config: None, mocks: RecordingMocks | None = None
) -> RecordingMocks:
    config = _stack_config(STACK)
    change(config)
    recording = mocks or RecordingMocks()
    _run_main(STACK, config, recording)
    return recording


def _set_cluster(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        config["armful:cluster"] = {**config["armful:cluster"], **fields}

    return change


def _baseline() -> RecordingMocks:
    """The example stack as it is, run once for every test module that reads it."""
    return _program(STACK).mocks


def _names(mocks: RecordingMocks) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in mocks.registrations}


def _leaves(tree: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Each leaf of an input tree; a resource passed by reference (a remote component's input) by its name."""
    if isinstance(tree, pulumi.Resource):
        yield path, f"<{tree._type} {tree._name}>"
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, tree


def _changed_inputs(old: RecordingMocks, new: RecordingMocks) -> dict[tuple[str, str], set[str]]:
    """For each resource registered by both runs, the input paths whose values differ."""
    before = {(r.type, r.name): dict(_leaves(r.inputs)) for r in old.registrations}
    changed = {}
    for registration in new.registrations:
        key = (registration.type, registration.name)
        after = dict(_leaves(registration.inputs))
        paths = {
            path for path in before[key].keys() | after.keys() if before[key].get(path) != after.get(path)
        }
        if paths:
            changed[key] = paths
    return changed


# --- upgrades reach the nodes ---------------------------------------------------------------------


@cache
def _on_1_34() -> RecordingMocks:
    return _run(_set_cluster(kubernetesVersion="1.34"))


def test_raising_the_kubernetes_version_changes_versions_and_nothings_name() -> None:
    old, new = _on_1_34(), _baseline()
    assert _names(old) == _names(new), "a rename is a replacement"
    changed = _changed_inputs(old, new)
    allowed = {
        CLUSTER: {"version", "vpcCniOptions.addonVersion", "kubeProxyAddonOptions.version"},
        NODE_GROUP: {"version", "releaseVersion"},
        ADDON: {"addonVersion"},
    }
    assert {key: paths for key, paths in changed.items() if not paths <= allowed.get(key[0], set())} == {}
    assert {key[0] for key in changed} == set(allowed)
    groups = old.of_type(NODE_GROUP)
    assert len(groups) == 3 and all(
        (key[0], key[1]) in changed for key in [(NODE_GROUP, g.name) for g in groups]
    )
    for group in new.of_type(NODE_GROUP):
        before = old.one(NODE_GROUP, group.name).inputs
        assert (before["version"], group.inputs["version"]) == ("1.34", "1.35")
        # AL2023's release as the SSM parameter for the AMI type and version gives it.
        assert (before["releaseVersion"], group.inputs["releaseVersion"]) == (
            "1.34.0-20260401",
            "1.35.0-20260401",
        )
    for addon in new.of_type(ADDON):
        name = addon.inputs["addonName"]
        assert old.one(ADDON, addon.name).inputs["addonVersion"] == addon_version_answer(name, "1.34")
        assert addon.inputs["addonVersion"] == addon_version_answer(name, "1.35")
    cluster_before, cluster_after = old.one(CLUSTER).inputs, new.one(CLUSTER).inputs
    assert cluster_before["vpcCniOptions"]["addonVersion"] == addon_version_answer("vpc-cni", "1.34")
    assert cluster_after["kubeProxyAddonOptions"]["version"] == addon_version_answer("kube-proxy", "1.35")


@pytest.mark.parametrize(
    ("stack", "parameters"),
    [
        (
            "arm-workers",
            {
                "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/release_version",
                "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/arm64/standard/recommended/release_version",
            },
        ),
        ("all-arm", {"/aws/service/bottlerocket/aws-k8s-1.35/arm64/latest/image_version"}),
    ],
)
def test_each_ami_types_release_is_read_once_from_the_parameter_eks_documents(
    stack: str, parameters: set[str]
) -> None:
    mocks = RecordingMocks()
    _run_main(stack, _stack_config(stack), mocks)
    asked = [args["name"] for token, args in mocks.calls if token == PARAMETER_TOKEN]
    assert sorted(asked) == sorted(parameters), "one lookup per AMI type and version"
    for group in mocks.of_type(NODE_GROUP):
        assert group.inputs["version"] == "1.35"
        assert group.inputs["releaseVersion"].endswith("-20260401")


def _node_group_transforms(ami_release: str | None) -> list[Any]:
    if ami_release is None:
        return _program(STACK).mocks.transforms[(NODE_GROUP, "armful-pools-system")]
    mocks = TransformRecordingMocks()
    _run(_set_cluster(nodeAmiRelease=ami_release), mocks)
    return mocks.transforms[(NODE_GROUP, "armful-pools-system")]


def _ignored_by(transforms: list[Any]) -> list[str]:
    args = pulumi.ResourceTransformArgs(
        custom=True, type_=NODE_GROUP_TYPE, name="system-nodeGroup", props={}, opts=pulumi.ResourceOptions()
    )
    for transform in transforms:
        result = transform(args)
        if result is not None:
            args = pulumi.ResourceTransformArgs(args.custom, args.type_, args.name, result.props, result.opts)
    return list(args.opts.ignore_changes or [])


def test_a_newer_ami_release_reaches_the_nodes_only_when_asked_for() -> None:
    """Every run reads the newest release; a pinned node group ignores it once created, latest applies it."""
    newer = _run(mocks=RecordingMocks(ami_release="20260501"))
    changed = _changed_inputs(_baseline(), newer)
    assert {key[0] for key in changed} == {NODE_GROUP}
    assert all(paths == {"releaseVersion"} for paths in changed.values())
    assert _ignored_by(_node_group_transforms(None)) == ["releaseVersion"], "pinned is the default"
    assert _ignored_by(_node_group_transforms("latest")) == []


def test_the_plan_shows_both_versions_of_every_pool() -> None:
    config = _stack_config("all-arm")
    config["armful:cluster"]["nodeAmiRelease"] = "latest"
    plan = build_plan("all-arm", parse_stack_config(strip_namespace(config)), "us-west-2")
    pools = plan.to_json()["pools"]
    assert {pool["provisioner"] for pool in pools} == {"managed", "karpenter"}
    for pool in pools:
        assert pool["kubernetes_version"] == "1.35"
        assert pool["ami_release"] == "latest"
        assert (
            pool["release_parameter"] == "/aws/service/bottlerocket/aws-k8s-1.35/arm64/latest/image_version"
        )
        # A node group's release version, a NodePool's EC2NodeClass AMI alias: both follow each deploy.
        assert "each deploy" in (
            pool["release_version"] if pool["provisioner"] == "managed" else pool["ami_alias"]
        )


# --- managed add-ons at explicit versions ------------------------------------------------------------


def test_every_managed_add_on_runs_a_version_the_user_pins_or_eks_default() -> None:
    pinned = {
        "vpcCni": {"version": "v1.20.4-eksbuild.2"},
        "kubeProxy": {"version": "v1.35.0-eksbuild.2"},
        "coredns": {"version": "v1.12.4-eksbuild.1", "values": {"replicaCount": 3}},
    }

    def pin(config: dict[str, Any]) -> None:
        config["armful:addons"] = {**config.get("armful:addons", {}), **pinned}

    mocks = _run(pin)
    cluster = mocks.one(CLUSTER).inputs
    assert cluster["vpcCniOptions"]["addonVersion"] == "v1.20.4-eksbuild.2"
    assert cluster["kubeProxyAddonOptions"]["version"] == "v1.35.0-eksbuild.2"
    versions = {a.inputs["addonName"]: a.inputs["addonVersion"] for a in mocks.of_type(ADDON)}
    assert versions["coredns"] == "v1.12.4-eksbuild.1"
    assert versions["aws-ebs-csi-driver"] == addon_version_answer("aws-ebs-csi-driver", "1.35")
    asked = sorted(args["addonName"] for token, args in mocks.calls if token == ADDON_VERSION_TOKEN)
    assert asked == ["aws-ebs-csi-driver", "eks-pod-identity-agent"], "a pinned version is not looked up"
    assert all(not args.get("mostRecent") for token, args in mocks.calls if token == ADDON_VERSION_TOKEN)


@pytest.mark.parametrize("version", ["1.20.4", "latest", "v1.20"])
def test_a_version_that_is_not_an_eks_add_on_version_is_refused(version: str) -> None:
    def pin(config: dict[str, Any]) -> None:
        config["armful:addons"] = {"vpcCni": {"version": version}}

    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as caught:
        _run(pin, mocks)
    (issue,) = caught.value.issues
    assert issue.path == "armful:addons.vpcCni.version"
    assert "v1.20.4-eksbuild.2" in issue.fix
    assert mocks.registrations == []


# --- stable identities: access entries ---------------------------------------------------------------


def _access_entries(admins: list[str]) -> dict[str, str]:
    # Lists without the deployer's role are allowed only when EKS makes the creator an admin.
    mocks = _run(_set_cluster(adminPrincipalArns=admins, bootstrapCreatorAdmin=True))
    return {entry["principalArn"]: key for key, entry in mocks.one(CLUSTER).inputs["accessEntries"].items()}


def test_reordering_or_removing_admins_renames_no_access_entry() -> None:
    both = _access_entries([ADMIN, AUDITOR, BREAK_GLASS])
    reordered = _access_entries([BREAK_GLASS, ADMIN, AUDITOR])
    fewer = _access_entries([AUDITOR])
    assert reordered == both
    assert fewer == {AUDITOR: both[AUDITOR]}
    assert len(set(both.values())) == 3
    assert all("::" not in key for key in both.values()), "pulumi-eks puts the key in a URN"


def test_an_assumed_role_session_is_refused_with_the_role_to_use() -> None:
    session = "arn:aws:sts::111122223333:assumed-role/PlatformAdmin/jane@example.com"
    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as caught:
        _run(_set_cluster(adminPrincipalArns=[ADMIN, session]), mocks)
    (issue,) = caught.value.issues
    assert issue.path == "armful:cluster.adminPrincipalArns"
    assert "adminPrincipalArns[1]" in issue.problem and "assumed role" in issue.problem
    assert "arn:aws:iam::111122223333:role/PlatformAdmin" in issue.fix
    assert mocks.registrations == []


def test_access_entries_made_under_admin_index_names_keep_their_state() -> None:
    """Stacks made before entries were keyed by principal: each entry and its policy association is
    aliased to the name it had, so the new key renames it in the state instead of replacing it."""
    transform = former_access_entry_names_transform("armful-eks", [ADMIN, AUDITOR])

    def aliases(type_: str, name: str) -> list[str] | None:
        args = pulumi.ResourceTransformArgs(True, type_, name, {}, pulumi.ResourceOptions())
        result = transform(args)
        return None if result is None else [alias.name for alias in result.opts.aliases]

    auditor = f"armful-eks-{access_entry_key(AUDITOR)}"
    assert aliases(ACCESS_ENTRY_TYPE, auditor) == ["armful-eks-admin-1"]
    assert aliases(ACCESS_POLICY_ASSOCIATION_TYPE, f"{auditor}-cluster-admin") == [
        "armful-eks-admin-1-cluster-admin"
    ]
    assert aliases(ACCESS_ENTRY_TYPE, "armful-eks-someone-else") is None
    assert aliases(NODE_GROUP_TYPE, auditor) is None


# --- stable identities: availability zones -------------------------------------------------------------


def _subnets(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    return {s.name: s.inputs for s in mocks.of_type(SUBNET)}


def test_an_impaired_zone_moves_no_subnet() -> None:
    """EC2 leaves an impaired zone out of the available ones; asking for those would move every subnet."""
    impaired = _run(mocks=RecordingMocks(impaired_zones=frozenset({"us-west-2b"})))
    assert _subnets(impaired) == _subnets(_baseline())
    assert {s["availabilityZone"] for s in _subnets(impaired).values()} == {
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
    }
    assert _changed_inputs(_baseline(), impaired) == {}


def test_zone_ids_given_are_kept_whatever_the_region_reports() -> None:
    def pin(config: dict[str, Any]) -> None:
        config["armful:network"] = {"cidr": "10.20.0.0/16", "zoneIds": ["usw2-az1", "usw2-az2", "usw2-az4"]}

    full = _run(pin)
    # The region's answer loses a zone altogether (and another is impaired): nothing is asked, nothing moves.
    losing = RecordingMocks(
        availability_zones={"us-west-2a": "usw2-az1", "us-west-2c": "usw2-az3"},
        impaired_zones=frozenset({"us-west-2a"}),
    )
    kept = _run(pin, losing)
    assert _subnets(kept) == _subnets(full)
    assert [token for token, _ in losing.calls if token == ZONES_TOKEN] == []
    private = sorted(
        (name, s["availabilityZoneId"]) for name, s in _subnets(kept).items() if "-private-" in name
    )
    assert [zone for _, zone in private] == ["usw2-az1", "usw2-az2", "usw2-az4"]


def test_the_zones_chosen_are_an_output_to_pin() -> None:
    outputs: dict[str, Any] = {}

    def program() -> None:
        namespace = runpy.run_path(str(ROOT / "__main__.py"))
        namespace["cluster"].zone_ids.apply(lambda zones: outputs.update(zones=zones))

    run_program(program, _stack_config(STACK), stack=STACK, secret_keys=SECRET_KEYS)
    assert outputs["zones"] == ["usw2-az1", "usw2-az2", "usw2-az3"]


# --- ordering: what a new VPC's resources wait for ---------------------------------------------------


def test_nat_gateways_wait_for_the_internet_gateway_and_node_groups_for_the_routes_through_nat() -> None:
    mocks = _baseline()
    gateway = mocks.one(INTERNET_GATEWAY)
    nats = mocks.of_type(NAT_GATEWAY)
    assert len(nats) == 3
    for nat in [*nats, *mocks.of_type(EIP)]:
        assert mocks.waits_for(nat, gateway), nat.name
    routes = [*mocks.of_type(ROUTE_TABLE), *mocks.of_type(ROUTE_TABLE_ASSOCIATION)]
    assert len(routes) == 1 + 3 + 3 + 3  # public table, private tables, their associations
    for group in mocks.of_type(NODE_GROUP):
        for needed in [*routes, *nats, gateway]:
            assert mocks.waits_for(group, needed), (group.name, needed.name)


def test_an_existing_vpc_adds_no_network_dependency() -> None:
    mocks = RecordingMocks()
    _run_main("mixed", _stack_config("mixed"), mocks)
    assert mocks.of_type(ROUTE_TABLE) == []
    groups = mocks.of_type(NODE_GROUP)
    assert len(groups) == 3
    by_urn = mocks.by_urn()
    for group in groups:
        assert group.dependencies
        waited = {by_urn[urn].type for urn in group.dependencies if urn in by_urn}
        network = {"aws:ec2/routeTable", "aws:ec2/routeTableAssociation", "aws:ec2/natGateway", "aws:ec2/eip"}
        assert not {kind for kind in waited if kind.rsplit(":", 1)[0] in network}, (group.name, waited)


# --- the creation path ---------------------------------------------------------------------------------

# Typical minutes for `pulumi up` to create one resource of each kind, from EKS's, EC2's and Helm's usual
# pace. pulumi-eks' Cluster is the control plane with its vpc-cni and kube-proxy add-ons and OIDC
# provider. A Helm release's kind is its chart: an atomic install that waits for its pods (Prometheus and
# Alertmanager for their volumes too), or, for kyverno-policies, for nothing but its policies. Unlisted
# custom resources (IAM, subnets, route tables, launch templates, Kubernetes objects) take seconds;
# components nothing.
TYPICAL_MINUTES: dict[str, float] = {
    CLUSTER: 11.0,
    NODE_GROUP: 4.0,
    ADDON: 1.5,
    NAT_GATEWAY: 2.0,
    INTERNET_GATEWAY: 0.2,
    STORAGE_CLASS: 0.0,
}
RELEASE_MINUTES: dict[str, float] = {
    "aws-load-balancer-controller": 2.0,
    "kube-prometheus-stack": 7.0,
    "kyverno": 4.0,
    "kyverno-policies": 0.5,
    "falco": 4.0,
    "cert-manager": 3.0,
    "fluent-bit": 1.5,
    "opentelemetry-collector": 1.5,
    "metrics-server": 1.0,
    "karpenter": 1.5,
}
SECONDS = 0.1
LIMIT_MINUTES = 24.0
"""The control plane (11), one node group (4), the load balancer controller whose webhook fails closed
(2), then the slowest other add-on (kube-prometheus-stack, 7)."""


def _minutes(registration: Registration) -> float:
    if registration.type == RELEASE:
        return RELEASE_MINUTES[registration.inputs["name"]]
    if registration.type in TYPICAL_MINUTES:
        return TYPICAL_MINUTES[registration.type]
    if registration.type.startswith(("armful:", "pulumi:providers:")) or not registration.custom:
        return 0.0
    return SECONDS


def _referenced(tree: Any) -> Iterator[pulumi.Resource]:
    if isinstance(tree, pulumi.Resource):
        yield tree
    elif isinstance(tree, Mapping):
        for value in tree.values():
            yield from _referenced(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _referenced(value)


def critical_path(
    mocks: RecordingMocks, extra: Mapping[str, set[str]] | None = None
) -> tuple[float, list[str]]:
    """The longest chain of dependencies, in typical minutes (when the last resource is done), and its URNs.

    A resource waits for what it depends on and for the resources its inputs pass by reference (a remote
    component such as a ManagedNodeGroup gets its cluster so; the SDK leaves those out of its dependencies,
    but the reference resolves only once the cluster is done).
    """
    graph = mocks.by_urn()
    urn_of = {(r.type, r.name): r.urn for r in mocks.registrations}
    added = {urn: set(more) for urn, more in (extra or {}).items()}
    for registration in mocks.registrations:
        refs = {
            urn_of[(res._type, res._name)]
            for res in _referenced(registration.inputs)
            if (res._type, res._name) in urn_of
        }
        added[registration.urn] = added.get(registration.urn, set()) | refs
    done: dict[str, tuple[float, list[str]]] = {}

    def finish(urn: str) -> tuple[float, list[str]]:
        if urn not in done:
            registration = graph[urn]
            before = [
                finish(dep) for dep in {*registration.dependencies, *added.get(urn, set())} if dep in graph
            ]
            start, chain = max(before, default=(0.0, []))
            done[urn] = (start + _minutes(registration), [*chain, registration.urn])
        return done[urn]

    return max(finish(urn) for urn in graph)


def test_the_creation_path_is_within_two_percent_of_the_limit(example_stack: str) -> None:
    mocks = _program(example_stack).mocks
    minutes, chain = critical_path(mocks)
    on_path = [mocks.by_urn()[urn] for urn in chain]
    assert minutes <= LIMIT_MINUTES * 1.02, (minutes, [r.name for r in on_path])
    # Nothing but the control plane, a node group and two releases takes minutes on the path.
    slow = [(r.type, r.name) for r in on_path if _minutes(r) >= 1]
    assert [type_ for type_, _ in slow] == [CLUSTER, NODE_GROUP, RELEASE, RELEASE], slow
    assert slow[2][1] == GATE, slow


def test_the_estimate_sees_a_managed_add_on_put_back_on_the_path() -> None:
    """The graph before: the load balancer controller waited for the StorageClass and the EBS CSI driver."""
    mocks = _baseline()
    gate, storage = mocks.one(RELEASE, GATE), mocks.one(STORAGE_CLASS)
    before, chain = critical_path(mocks, {gate.urn: {storage.urn}})
    now, _ = critical_path(mocks)
    assert _managed_addon_urn(mocks, "aws-ebs-csi-driver") in chain
    assert before >= now + 1 and before > LIMIT_MINUTES * 1.02, (before, now)


def _managed_addon_urn(mocks: RecordingMocks, addon: str) -> str:
    return mocks.one(ADDON, f"armful-managed-addons-{addon}").urn


# --- what outlives `pulumi destroy` --------------------------------------------------------------------


def test_volumes_and_load_balancers_carry_the_cluster_they_belong_to() -> None:
    """The README's clean-up finds what outlives the cluster by these tags."""
    mocks = _baseline()
    parameters = mocks.one(STORAGE_CLASS).inputs["parameters"]
    assert parameters["tagSpecification_1"] == "armful.dev/cluster=shop-arm-workers"
    assert parameters["encrypted"] == "true"
    values = mocks.one(RELEASE, GATE).inputs["values"]
    assert values["clusterName"] == "shop-arm-workers", (
        "the controller tags its resources elbv2.k8s.aws/cluster"
    )


# --- the components on their own ---------------------------------------------------------------------

POOL_ARGS: dict[str, Any] = {
    "subnet_ids": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    "topology": "all-arm",
    "system_pool": {"name": "system", "instance_types": ["m7g.large"]},
    "worker_pools": [{"name": "apps", "instance_types": ["m7g.large"], "os_family": "Bottlerocket"}],
}


def _node_pools(**args: Any) -> RecordingMocks:
    def program() -> None:
        cluster = eks.Cluster("theirs", name="theirs", skip_default_node_group=True)
        NodePools("pools", {**POOL_ARGS, **args, "cluster": cluster})

    return run_program(program)


def test_node_pools_given_the_clusters_version_run_it_and_its_published_release() -> None:
    mocks = _node_pools(kubernetes_version="1.33")
    groups = {group.name: group.inputs for group in mocks.of_type(NODE_GROUP)}
    assert groups["pools-system"]["version"] == groups["pools-apps"]["version"] == "1.33"
    assert groups["pools-system"]["releaseVersion"] == "1.33.0-20260401"
    assert groups["pools-apps"]["releaseVersion"] == "1.55.0-20260401"
    # Without it, EKS picks at creation, as before: nothing to look up.
    unversioned = _node_pools()
    assert all(
        "version" not in g.inputs and "releaseVersion" not in g.inputs
        for g in unversioned.of_type(NODE_GROUP)
    )
    assert [token for token, _ in unversioned.calls if token == PARAMETER_TOKEN] == []


def test_node_pools_wait_for_what_the_component_waits_for() -> None:
    def program() -> None:
        cluster = eks.Cluster("theirs", name="theirs", skip_default_node_group=True)
        route = aws.ec2.RouteTable("egress", vpc_id="vpc-0bbbbbbbbbbbbbbb0")
        NodePools("pools", {**POOL_ARGS, "cluster": cluster}, opts=pulumi.ResourceOptions(depends_on=[route]))

    mocks = run_program(program)
    route = mocks.one(ROUTE_TABLE)
    assert all(route.urn in group.dependencies for group in mocks.of_type(NODE_GROUP))


def test_eks_managed_addons_refuses_the_versions_of_add_ons_the_cluster_creates() -> None:
    mocks = RecordingMocks()

    def program() -> None:
        EksManagedAddons(
            "managed",
            {
                "cluster_name": "theirs",
                "kubernetes_version": "1.35",
                "pools": [
                    {
                        "name": "core",
                        "role": "system",
                        "arch": "arm64",
                        "labels": {"node.armful.dev/role": "system"},
                    }
                ],
                "addons": {
                    "vpcCni": {"version": "v1.20.4-eksbuild.2"},
                    "coredns": {"version": "v1.12.4-eksbuild.1"},
                },
            },
        )

    with pytest.raises(StackConfigError) as caught:
        run_program(program, mocks=mocks)
    (issue,) = caught.value.issues
    assert issue.path == "addons.vpcCni" and "vpc_cni_options.addon_version" in issue.fix
    assert mocks.registrations == []


def test_network_given_zone_ids_asks_for_no_zones() -> None:
    mocks = run_program(
        lambda: Network("net", {"cluster_name": "east", "zone_ids": ["use1-az1", "use1-az4"]})
    )
    assert [token for token, _ in mocks.calls if token == ZONES_TOKEN] == []
    zones = sorted((s.name, s.inputs["availabilityZoneId"]) for s in mocks.of_type(SUBNET))
    assert zones == [
        ("net-private-0", "use1-az1"),
        ("net-private-1", "use1-az4"),
        ("net-public-0", "use1-az1"),
        ("net-public-1", "use1-az4"),
    ]
    assert all("availabilityZone" not in s.inputs for s in mocks.of_type(SUBNET))


def _their_addons(**args: Any) -> Any:
    """ClusterAddons' args for a cluster of someone else's: one system pool and one worker pool."""
    return {
        "cluster_name": "theirs",
        "region": "us-east-2",
        "vpc_id": "vpc-0bbbbbbbbbbbbbbb0",
        "topology": "all-arm",
        "pools": [
            {"name": "core", "role": "system", "arch": "arm64", "labels": {"node.armful.dev/role": "system"}},
            {"name": "apps", "role": "workers", "arch": "arm64"},
        ],
        "grafana_admin_password": "test-only",
        **args,
    }


def test_cluster_addons_given_a_storage_class_let_only_volume_claims_wait_for_it() -> None:
    def program() -> None:
        provider = k8s.Provider("theirs", kubeconfig="{}")
        storage = k8s.storage.v1.StorageClass(
            "gp3",
            metadata={"name": "gp3"},
            provisioner="ebs.csi.aws.com",
            opts=pulumi.ResourceOptions(provider=provider),
        )
        ClusterAddons("addons", _their_addons(kubernetes_provider=provider, storage_class=storage))

    mocks = run_program(program)
    storage = mocks.one(STORAGE_CLASS)
    waiting = sorted(r.name for r in mocks.of_type(RELEASE) if storage.urn in r.dependencies)
    assert waiting == ["addons-kube-prometheus-stack"]


def test_cluster_addons_refuses_a_storage_class_that_is_not_one() -> None:
    mocks = RecordingMocks()

    def program() -> None:
        ClusterAddons("addons", _their_addons(kubeconfig="{}", storage_class="gp3"))

    with pytest.raises(StackConfigError) as caught:
        run_program(program, mocks=mocks)
    assert [issue.path for issue in caught.value.issues] == ["storage_class"]
    assert mocks.registrations == []
