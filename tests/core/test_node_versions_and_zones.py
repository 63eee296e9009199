"""The pure side of day 2: the versions every pool's node group runs, the AMI release parameters EKS
documents, pinned add-on versions, zone IDs and admin ARNs in stack config."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from armful.core.errors import StackConfigError
from armful.core.pools import NodeAmiRelease, NodeVersions, pool_from_description, release_version_parameter
from armful.planning.node_pools_plan import plan_node_pools
from armful.planning.plan import build_plan
from armful.planning.stack_config import parse_stack_config

VALID: dict[str, Any] = {
    "topology": "arm-workers",
    "cluster": {
        "name": "shop",
        "kubernetesVersion": "1.34",
        "adminPrincipalArns": ["arn:aws:iam::111122223333:role/platform-admin"],
    },
    "systemPool": {"name": "system", "instanceTypes": ["m7i.large"]},
    "workerPools": [{"name": "apps", "instanceTypes": ["m7g.large"], "osFamily": "Bottlerocket"}],
}


def _config(**sections: Any) -> dict[str, Any]:
    config = copy.deepcopy(VALID)
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    return config


def _issues(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config(raw)
    return {issue.path: f"{issue.problem} | {issue.fix}" for issue in caught.value.issues}


@pytest.mark.parametrize(
    ("ami_type", "parameter"),
    [
        (
            "AL2023_x86_64_STANDARD",
            "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/release_version",
        ),
        (
            "AL2023_ARM_64_STANDARD",
            "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/release_version",
        ),
        ("BOTTLEROCKET_x86_64", "/aws/service/bottlerocket/aws-k8s-1.34/x86_64/latest/image_version"),
        ("BOTTLEROCKET_ARM_64", "/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_version"),
    ],
)
def test_each_ami_type_reads_its_release_from_the_parameter_eks_documents(
    ami_type: str, parameter: str
) -> None:
    assert release_version_parameter(ami_type, "1.34") == parameter


def test_every_pool_of_a_stack_runs_the_clusters_version_and_shows_it_in_the_plan() -> None:
    plan = build_plan("s", parse_stack_config(VALID), "us-west-2")
    assert {pool.versions for pool in plan.pools} == {NodeVersions("1.34", NodeAmiRelease.PINNED)}
    system, apps = plan.to_json()["pools"]
    assert (system["kubernetes_version"], system["ami_release"]) == ("1.34", "pinned")
    assert system["release_parameter"].endswith(
        "/1.34/amazon-linux-2023/x86_64/standard/recommended/release_version"
    )
    assert apps["release_parameter"] == "/aws/service/bottlerocket/aws-k8s-1.34/arm64/latest/image_version"
    assert "then kept" in apps["release_version"]


def test_a_pool_described_for_placement_only_claims_no_version() -> None:
    described = pool_from_description("apps", "workers", "arm64").to_json()
    assert (described["kubernetes_version"], described["release_parameter"], described["ami_release"]) == (
        None,
        None,
        None,
    )


def test_node_ami_release_is_pinned_or_latest() -> None:
    config = parse_stack_config(_config(cluster={"nodeAmiRelease": "latest"}))
    assert config.node_versions() == NodeVersions("1.34", NodeAmiRelease.LATEST)
    problem = _issues(_config(cluster={"nodeAmiRelease": "newest"}))["armful:cluster.nodeAmiRelease"]
    assert "pinned" in problem and "latest" in problem


def test_node_pools_take_the_version_as_an_arg() -> None:
    args = {
        "topology": "all-arm",
        "system_pool": {"name": "system", "instance_types": ["m7g.large"]},
        "worker_pools": [{"name": "apps", "instance_types": ["m7g.large"]}],
    }
    assert {pool.versions for pool in plan_node_pools(args)} == {None}
    pools = plan_node_pools({**args, "kubernetes_version": "1.33", "node_ami_release": "latest"})
    assert {pool.versions for pool in pools} == {NodeVersions("1.33", NodeAmiRelease.LATEST)}
    for wrong, path in [
        ({"kubernetes_version": "1.29"}, "kubernetes_version"),
        ({"kubernetes_version": "v1.35"}, "kubernetes_version"),
        ({"kubernetes_version": "1.35", "node_ami_release": "newest"}, "node_ami_release"),
        ({"node_ami_release": "latest"}, "node_ami_release"),
    ]:
        with pytest.raises(StackConfigError) as caught:
            plan_node_pools({**args, **wrong})
        assert [issue.path for issue in caught.value.issues] == [path], wrong


def test_a_pinned_add_on_version_shows_in_the_plan() -> None:
    raw = {**copy.deepcopy(VALID), "addons": {"kubeProxy": {"version": "v1.34.1-eksbuild.2"}}}
    plan = build_plan("s", parse_stack_config(raw), "us-west-2")
    versions = {
        addon["name"]: (addon["version"], addon["version_pinned"])
        for addon in plan.to_json()["managed_addons"]
    }
    assert versions["kube-proxy"] == ("v1.34.1-eksbuild.2", True)
    assert versions["vpc-cni"] == ("EKS default for the cluster's Kubernetes version", False)


def test_add_ons_the_cluster_creates_take_a_version_and_nothing_else() -> None:
    issues = _issues({**copy.deepcopy(VALID), "addons": {"vpcCni": {"values": {"env": {}}}}})
    assert "armful:addons.vpcCni.values" in issues


# --- zone ids ------------------------------------------------------------------------------------------


def test_zone_ids_say_how_many_zones() -> None:
    network = parse_stack_config(_config(network={"zoneIds": ["usw2-az1", "usw2-az3"]})).network
    assert (network.availability_zones, network.zone_ids) == (2, ["usw2-az1", "usw2-az3"])
    matching = {"zoneIds": ["usw2-az1", "usw2-az2", "usw2-az4"], "availabilityZones": 3}
    assert parse_stack_config(_config(network=matching)).network.zone_ids == matching["zoneIds"]


@pytest.mark.parametrize(
    ("network", "path", "words"),
    [
        (
            {"zoneIds": ["usw2-az1", "usw2-az2"], "availabilityZones": 3},
            "armful:network",
            "availabilityZones is 3",
        ),
        ({"zoneIds": ["usw2-az1", "usw2-az1"]}, "armful:network.zoneIds", "repeats zoneIds[0]"),
        ({"zoneIds": ["use1-az1", "use1-az3"]}, "armful:network.zoneIds", "EKS does not place clusters"),
        ({"zoneIds": ["usw2-az1"]}, "armful:network.zoneIds", "2 to 6"),
        ({"zoneIds": ["usw2-az1", "use2-az2"]}, "armful:network.zoneIds", "2 regions (use2, usw2)"),
        ({"zoneIds": ["us-west-2a", "us-west-2b"]}, "armful:network.zoneIds[0]", "usw2-az1"),
        ({"zoneIds": ["usw2-lax1-az1", "usw2-az2"]}, "armful:network.zoneIds[0]", "standard AZ"),
        (
            {
                "vpcId": "vpc-0123456789abcdef0",
                "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
                "zoneIds": ["usw2-az1", "usw2-az2"],
            },
            "armful:network.zoneIds",
            "only applies to a VPC Armful creates",
        ),
    ],
    ids=[
        "count-mismatch",
        "repeated",
        "unsupported",
        "one",
        "two-regions",
        "names-not-ids",
        "local-zone",
        "existing-vpc",
    ],
)
def test_zone_ids_that_cannot_work_are_refused(network: dict[str, Any], path: str, words: str) -> None:
    issues = _issues({**copy.deepcopy(VALID), "network": network})
    assert path in issues, issues
    assert words in issues[path]


# --- admins ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session", "role"),
    [
        ("arn:aws:sts::111122223333:assumed-role/Admin/jane", "arn:aws:iam::111122223333:role/Admin"),
        ("arn:aws-cn:sts::111122223333:assumed-role/ops/ci-run-7", "arn:aws-cn:iam::111122223333:role/ops"),
    ],
)
def test_an_assumed_role_session_is_refused_naming_its_role(session: str, role: str) -> None:
    issues = _issues(_config(cluster={"adminPrincipalArns": [session]}))
    assert role in issues["armful:cluster.adminPrincipalArns"]
