"""Every config mistake is reported before anything is built, naming the field and how to fix it.

Each row is one mistake a user can make in ``stacks/Pulumi.<stack>.yaml``. The test asserts the
issue's path (what the user searches their file for), words of the problem that identify the
offending value, and words of the fix that make it actionable, then that the rendered error carries
the same path and a ``Fix:``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from armful.core.config import PoolDescriptionConfig, check_kubernetes_version
from armful.core.errors import ConfigIssue, StackConfigError
from armful.planning.plan import build_plan
from armful.planning.stack_config import parse_stack_config

VALID: dict[str, Any] = {
    "topology": "arm-workers",
    "cluster": {"name": "shop", "adminPrincipalArns": ["arn:aws:iam::111122223333:role/platform-admin"]},
    "systemPool": {"name": "system", "instanceTypes": ["m7i.large"]},
    "workerPools": [{"name": "apps", "instanceTypes": ["m7g.large"]}],
}
VPC = "vpc-0123456789abcdef0"
SUBNET_A = "subnet-0123456789abcdef0"
SUBNET_B = "subnet-0123456789abcdef1"


def _config(**overrides: Any) -> dict[str, Any]:
    config = copy.deepcopy(VALID)
    config.update(copy.deepcopy(overrides))
    return config


def _workers(*pools: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": f"w{index}", **pool} for index, pool in enumerate(pools)]


def _errors(raw: dict[str, Any]) -> StackConfigError:
    with pytest.raises(StackConfigError) as caught:
        build_plan("test", parse_stack_config(raw), region="us-west-2")
    return caught.value


def _issue_at(error: StackConfigError, path: str) -> ConfigIssue:
    found = [issue for issue in error.issues if issue.path == path]
    assert found, f"no issue at {path}; issues: {[str(issue) for issue in error.issues]}"
    return found[0]


# (config, path, words in the problem, words in the fix)
CASES: dict[str, tuple[dict[str, Any], str, list[str], list[str]]] = {
    "unknown-family-without-arch": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large", "zz9.large"]}]),
        "armful:workerPools[0].instanceTypes[1]",
        ["'zz9'"],
        ["arch", "amd64 or arm64"],
    ),
    "arch-contradicts-known-family": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "arch": "amd64"}]),
        "armful:workerPools[0].arch",
        ["amd64", "m7g.large is arm64"],
        ["remove arch"],
    ),
    "pool-mixes-arches": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large", "m7i.large"]}]),
        "armful:workerPools[0].instanceTypes",
        ["'apps'", "m7g.large", "m7i.large"],
        ["one architecture per pool", "two pools"],
    ),
    "arm-workers-x86-worker-pool": (
        _config(workerPools=_workers({"instanceTypes": ["m7g.large"]}, {"instanceTypes": ["c7i.large"]})),
        "armful:workerPools[1].instanceTypes",
        ["'w1'", "amd64", "c7i.large", "arm-workers"],
        ["arm64 instance types"],
    ),
    "arm-workers-arm-system-pool": (
        _config(systemPool={"name": "system", "instanceTypes": ["m7g.large"]}),
        "armful:systemPool.instanceTypes",
        ["system pool", "arm64", "arm-workers"],
        ["amd64 instance types"],
    ),
    "all-arm-x86-system-pool": (
        _config(
            topology="all-arm",
            systemPool={"name": "system", "instanceTypes": ["m7i.large"]},
            workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"]}],
        ),
        "armful:systemPool.instanceTypes",
        ["system pool", "amd64", "all-arm"],
        ["arm64 instance types"],
    ),
    "all-arm-x86-worker-pool": (
        _config(
            topology="all-arm",
            systemPool={"name": "system", "instanceTypes": ["m7g.large"]},
            workerPools=[{"name": "apps", "instanceTypes": ["m7i.large"]}],
        ),
        "armful:workerPools[0].instanceTypes",
        ["worker pool 'apps'", "amd64", "all-arm"],
        ["arm64 instance types"],
    ),
    "mixed-without-amd64-workers": (
        _config(
            topology="mixed",
            systemPool={"name": "system", "instanceTypes": ["m7i.large"]},
            workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"]}],
        ),
        "armful:workerPools",
        ["mixed", "amd64"],
        ["amd64 instance types"],
    ),
    "mixed-without-arm64-workers": (
        _config(
            topology="mixed",
            systemPool={"name": "system", "instanceTypes": ["m7i.large"]},
            workerPools=[{"name": "legacy", "instanceTypes": ["m7i.large"]}],
        ),
        "armful:workerPools",
        ["mixed", "arm64"],
        ["arm64 instance types"],
    ),
    "duplicate-worker-names": (
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7g.large"]},
                {"name": "apps", "instanceTypes": ["c7g.large"]},
            ]
        ),
        "armful:workerPools[1].name",
        ["'apps'", "already used by armful:workerPools[0]"],
        ["its own name"],
    ),
    "min-greater-than-max": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "minSize": 5, "maxSize": 3}]),
        "armful:workerPools[0].minSize",
        ["minSize 5", "maxSize 3"],
        ["at most 3", "at least 5"],
    ),
    "system-pool-min-greater-than-max": (
        _config(systemPool={"name": "system", "instanceTypes": ["m7i.large"], "minSize": 4, "maxSize": 2}),
        "armful:systemPool.minSize",
        ["minSize 4", "maxSize 2"],
        ["at most 2"],
    ),
    "desired-above-max": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "desiredSize": 9}]),
        "armful:workerPools[0].desiredSize",
        ["desiredSize 9", "maxSize 4"],
        ["between 2 and 4"],
    ),
    "desired-below-min": (
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7g.large"], "minSize": 3, "maxSize": 6, "desiredSize": 1}
            ]
        ),
        "armful:workerPools[0].desiredSize",
        ["desiredSize 1", "minSize 3"],
        ["between 3 and 6"],
    ),
    "typo-top-level-key": (
        _config(clusterName="shop"),
        "armful:clusterName",
        ["not permitted"],
        ["spelling", "camelCase"],
    ),
    "typo-nested-endpoint-key": (
        _config(cluster={"name": "shop", "endpoint": {"publicAcessCidrs": ["203.0.113.0/24"]}}),
        "armful:cluster.endpoint.publicAcessCidrs",
        ["not permitted"],
        ["spelling"],
    ),
    "typo-pool-instance-type-key": (
        _config(systemPool={"name": "system", "instanceType": ["m7i.large"]}),
        "armful:systemPool.instanceType",
        ["not permitted"],
        ["spelling"],
    ),
    "typo-worker-pool-key-case": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "maxsize": 6}]),
        "armful:workerPools[0].maxsize",
        ["not permitted"],
        ["camelCase"],
    ),
    "typo-taint-key": (
        _config(
            workerPools=[
                {
                    "name": "apps",
                    "instanceTypes": ["m7g.large"],
                    "taints": [{"key": "a.io/b", "efect": "NoSchedule"}],
                }
            ]
        ),
        "armful:workerPools[0].taints[0].efect",
        ["not permitted"],
        ["spelling"],
    ),
    "typo-network-key": (
        _config(network={"vpcID": VPC}),
        "armful:network.vpcID",
        ["not permitted"],
        ["spelling"],
    ),
    "missing-system-pool": (
        {key: value for key, value in VALID.items() if key != "systemPool"},
        "armful:systemPool",
        ["required"],
        ["set this key"],
    ),
    "open-to-internet-without-opt-in": (
        _config(cluster={"name": "shop", "endpoint": {"publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]}}),
        "armful:cluster.endpoint.publicAccessCidrs",
        ["0.0.0.0/0", "whole internet"],
        ["allowPublicInternet: true"],
    ),
    "private-access-off": (
        _config(cluster={"name": "shop", "endpoint": {"privateAccess": False}}),
        "armful:cluster.endpoint.privateAccess",
        ["private endpoint"],
        ["set it to true"],
    ),
    "existing-vpc-one-subnet": (
        _config(network={"vpcId": VPC, "privateSubnetIds": [SUBNET_A]}),
        "armful:network.privateSubnetIds",
        ["at least two private subnets"],
        ["network.privateSubnetIds"],
    ),
    "subnet-ids-without-vpc-id": (
        _config(network={"privateSubnetIds": [SUBNET_A, SUBNET_B]}),
        "armful:network.privateSubnetIds",
        ["without vpcId"],
        ["network.vpcId"],
    ),
    "cidr-with-vpc-id": (
        _config(network={"vpcId": VPC, "privateSubnetIds": [SUBNET_A, SUBNET_B], "cidr": "10.1.0.0/16"}),
        "armful:network.cidr",
        ["cidr", "existing"],
        ["remove cidr", "remove vpcId"],
    ),
    "zones-with-vpc-id": (
        _config(network={"vpcId": VPC, "privateSubnetIds": [SUBNET_A, SUBNET_B], "availabilityZones": 3}),
        "armful:network.availabilityZones",
        ["availabilityZones"],
        ["remove availabilityZones"],
    ),
    "vpc-cidr-too-small": (
        _config(network={"cidr": "10.1.0.0/24"}),
        "armful:network.cidr",
        ["10.1.0.0/24", "/20 at least"],
        ["from /16 to /20"],
    ),
    "reserved-label-armful": (
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7g.large"], "labels": {"node.armful.dev/role": "x"}}
            ]
        ),
        "armful:workerPools[0].labels",
        ["'node.armful.dev/role'"],
        ["example.com/team"],
    ),
    "reserved-label-kubernetes": (
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7g.large"], "labels": {"kubernetes.io/arch": "amd64"}}
            ]
        ),
        "armful:workerPools[0].labels",
        ["'kubernetes.io/arch'"],
        ["own domain"],
    ),
    "reserved-label-eks": (
        _config(
            systemPool={
                "name": "system",
                "instanceTypes": ["m7i.large"],
                "labels": {"eks.amazonaws.com/nodegroup": "x"},
            }
        ),
        "armful:systemPool.labels",
        ["'eks.amazonaws.com/nodegroup'"],
        ["own domain"],
    ),
    "reserved-taint-critical-addons": (
        _config(
            workerPools=[
                {
                    "name": "apps",
                    "instanceTypes": ["m7g.large"],
                    "taints": [{"key": "CriticalAddonsOnly", "value": "true"}],
                }
            ]
        ),
        "armful:workerPools[0].taints[0].key",
        ["'CriticalAddonsOnly'"],
        ["remove this taint", "example.com/dedicated"],
    ),
    "reserved-taint-arch": (
        _config(
            workerPools=[
                {
                    "name": "apps",
                    "instanceTypes": ["m7g.large"],
                    "taints": [{"key": "kubernetes.io/arch", "value": "amd64"}],
                }
            ]
        ),
        "armful:workerPools[0].taints[0].key",
        ["'kubernetes.io/arch'"],
        ["remove this taint"],
    ),
    "reserved-taint-armful-prefix": (
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7g.large"], "taints": [{"key": "node.armful.dev/pool"}]}
            ]
        ),
        "armful:workerPools[0].taints[0].key",
        ["'node.armful.dev/pool'"],
        ["remove this taint"],
    ),
    "capacity-type-unknown": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "capacityType": "reserved"}]),
        "armful:workerPools[0].capacityType",
        ["ON_DEMAND", "SPOT"],
        ["one of the values"],
    ),
    "instance-type-without-size": (
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g"]}]),
        "armful:workerPools[0].instanceTypes",
        ["'m7g'"],
        ["family.size"],
    ),
    "unknown-topology": (
        _config(topology="arm-only"),
        "armful:topology",
        ["arm-workers", "all-arm", "mixed"],
        ["one of the values"],
    ),
    "admin-arn-malformed": (
        _config(cluster={"name": "shop", "adminPrincipalArns": ["platform-admin"]}),
        "armful:cluster.adminPrincipalArns[0]",
        ["'platform-admin'", "IAM role or user ARN"],
        ["arn:aws:iam::111122223333:role/platform-admin"],
    ),
}


@pytest.mark.parametrize(("raw", "path", "problem_words", "fix_words"), CASES.values(), ids=CASES.keys())
def test_config_error_names_field_and_fix(
    raw: dict[str, Any], path: str, problem_words: list[str], fix_words: list[str]
) -> None:
    error = _errors(raw)
    issue = _issue_at(error, path)
    for word in problem_words:
        assert word in issue.problem, f"{word!r} not in problem: {issue}"
    for word in fix_words:
        assert word in issue.fix, f"{word!r} not in fix: {issue}"
    assert f"{path}: " in str(error)
    assert f"Fix: {issue.fix}" in str(error)


def test_worker_named_like_the_system_pool() -> None:
    error = _errors(_config(workerPools=[{"name": "system", "instanceTypes": ["m7g.large"]}]))
    assert len(error.issues) == 1
    (issue,) = error.issues
    assert issue.path == "armful:workerPools[0].name"
    assert "'system'" in issue.problem
    assert "the system pool included" in issue.fix


def test_preferred_arch_outside_mixed() -> None:
    error = _errors(_config(preferredArch="amd64"))
    (issue,) = error.issues
    assert issue.path == "armful:preferredArch"
    assert "preferredArch" in issue.problem
    assert "arm-workers" in issue.problem
    assert issue.fix == "remove preferredArch"


def test_unsupported_kubernetes_version_in_stack_config() -> None:
    error = _errors(_config(cluster={"name": "shop", "kubernetesVersion": "1.20"}))
    (issue,) = error.issues
    assert issue.path == "armful:cluster.kubernetesVersion"
    assert "'1.20'" in issue.problem
    assert "standard support" in issue.fix


def test_extended_support_is_not_an_escape_for_unsupported_versions() -> None:
    error = _errors(
        _config(cluster={"name": "shop", "kubernetesVersion": "1.20", "allowExtendedSupport": True})
    )
    assert "'1.20'" in error.issues[0].problem


JUNE_2026 = dt.date(2026, 6, 1)  # 1.32 is in extended support; 1.33-1.35 in standard support


@pytest.mark.parametrize(
    ("version", "allow_extended", "today", "message_words"),
    [
        (
            "1.32",
            False,
            JUNE_2026,
            ["1.32", "extended support", "1.33, 1.34, 1.35", "allowExtendedSupport: true"],
        ),
        ("1.20", False, JUNE_2026, ["'1.20'", "1.33, 1.34, 1.35"]),
        ("1.20", True, JUNE_2026, ["'1.20'"]),
        ("1.36", True, JUNE_2026, ["'1.36'"]),
        ("1.32", True, dt.date(2027, 3, 24), ["'1.32'"]),
        ("1.32", False, dt.date(2026, 3, 24), ["extended support"]),
    ],
    ids=[
        "extended-without-opt-in",
        "unknown-version",
        "unknown-version-with-opt-in",
        "not-yet-released",
        "past-extended-support",
        "day-after-standard-support",
    ],
)
def test_kubernetes_version_rejected(
    version: str, allow_extended: bool, today: dt.date, message_words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        check_kubernetes_version(version, allow_extended, today)
    assert "Fix:" in str(caught.value)
    for word in message_words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("version", "allow_extended", "today"),
    [
        ("1.32", True, JUNE_2026),
        ("1.35", False, JUNE_2026),
        ("1.32", False, dt.date(2026, 3, 23)),
        ("1.32", True, dt.date(2027, 3, 23)),
    ],
    ids=["extended-with-opt-in", "standard", "last-day-of-standard", "last-day-of-extended"],
)
def test_kubernetes_version_accepted(version: str, allow_extended: bool, today: dt.date) -> None:
    check_kubernetes_version(version, allow_extended, today)


def test_open_internet_accepted_with_opt_in() -> None:
    config = parse_stack_config(
        _config(
            cluster={
                **VALID["cluster"],
                "endpoint": {"publicAccessCidrs": ["0.0.0.0/0"], "allowPublicInternet": True},
            }
        )
    )
    assert config.cluster.endpoint.public_access
    assert [str(cidr) for cidr in config.cluster.endpoint.public_access_cidrs] == ["0.0.0.0/0"]


def test_public_endpoint_is_off_by_default() -> None:
    endpoint = parse_stack_config(_config()).cluster.endpoint
    assert endpoint.private_access
    assert not endpoint.public_access


def test_unknown_family_accepted_with_arch_and_node_capacity() -> None:
    figures = {"vcpus": 2, "memoryMib": 8192, "maxPods": 29}
    config = parse_stack_config(
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["zz9.large"], "arch": "arm64", "nodeCapacity": figures}
            ]
        )
    )
    plan = build_plan("test", config, region="us-west-2")
    (pool,) = plan.worker_pools
    assert pool.arch.value == "arm64"
    # 2000m less 60m + 10m kube-reserved; 8192 MiB less the 7.5% (615 MiB) a kubelet does not see,
    # 11 x 29 + 255 MiB reserved and 100 MiB eviction.
    assert (pool.node.cpu_millicores, pool.node.memory_mib, pool.node.pods) == (1930, 6903, 29)


def test_an_instance_type_the_catalog_does_not_know_needs_its_figures() -> None:
    error = _errors(_config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large", "m7g.huge"]}]))
    issue = _issue_at(error, "armful:workerPools[0].instanceTypes[1]")
    assert "no 'm7g.huge'" in issue.problem and "medium, large, xlarge" in issue.problem
    assert "nodeCapacity" in issue.fix


def test_several_field_errors_reported_at_once() -> None:
    error = _errors(
        _config(
            topology="all-arm",
            cluster={"name": "shop", "endpoint": {"privateAccess": False}, "kubernetesVersoin": "1.35"},
            systemPool={
                "name": "system",
                "instanceTypes": ["m7g.large"],
                "labels": {"kubernetes.io/os": "linux"},
            },
            workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "capacityType": "reserved"}],
        )
    )
    assert {issue.path for issue in error.issues} == {
        "armful:cluster.endpoint.privateAccess",
        "armful:cluster.kubernetesVersoin",
        "armful:systemPool.labels",
        "armful:workerPools[0].capacityType",
    }
    assert str(error).startswith("Armful stack config has 4 errors:")
    assert str(error).count("Fix: ") == 4


def test_several_pool_rule_errors_reported_at_once() -> None:
    error = _errors(
        _config(
            systemPool={"name": "system", "instanceTypes": ["m7g.large"]},
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7i.large"], "minSize": 5, "maxSize": 3},
                {"name": "apps", "instanceTypes": ["m7g.large", "m7i.large"]},
                {"name": "batch", "instanceTypes": ["zz9.large"]},
            ],
        )
    )
    assert [issue.path for issue in error.issues] == [
        "armful:workerPools[1].name",
        "armful:systemPool.instanceTypes",
        "armful:workerPools[0].minSize",
        "armful:workerPools[0].instanceTypes",
        "armful:workerPools[1].instanceTypes",
        "armful:workerPools[2].instanceTypes[0]",
    ]
    assert all(issue.fix for issue in error.issues)
    assert str(error).startswith("Armful stack config has 6 errors:")


def test_described_pools_follow_kubernetes_and_planned_pools_also_eks() -> None:
    """A node group Armful did not create may carry what Kubernetes allows; one it creates, what EKS takes."""
    long_key = "team.platform.example.com/" + "d" * 46  # 72 characters: Kubernetes yes, EKS no
    described = PoolDescriptionConfig.model_validate(
        {
            "name": "infra",
            "role": "workers",
            "arch": "arm64",
            "labels": {"node-role.kubernetes.io/infra": ""},
            "taints": [{"key": long_key, "value": "x"}],
        }
    )
    assert described.taints[0].key == long_key
    error = _errors(
        _config(workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "taints": [{"key": long_key}]}])
    )
    issue = _issue_at(error, "armful:workerPools[0].taints[0]")
    assert "EKS node group API takes at most 63" in issue.problem
    error = _errors(
        _config(
            workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"], "labels": {"example.com/team": ""}}]
        )
    )
    assert (
        "empty, which the EKS node group API refuses"
        in _issue_at(error, "armful:workerPools[0].labels").problem
    )
    error = _errors(
        _config(
            workerPools=[
                {"name": "apps", "instanceTypes": ["m7g.large"], "labels": {"Example.com/team": "a"}}
            ]
        )
    )
    assert "not a DNS subdomain" in _issue_at(error, "armful:workerPools[0].labels").problem


@pytest.mark.parametrize(("system", "suggested"), [("m7g.large", "all-arm"), ("m7i.large", "arm-workers")])
def test_mixed_with_graviton_workers_only_suggests_the_topology_that_fits(
    system: str, suggested: str
) -> None:
    error = _errors(
        _config(
            topology="mixed",
            systemPool={"name": "system", "instanceTypes": [system]},
            workerPools=[{"name": "apps", "instanceTypes": ["m7g.large"]}],
        )
    )
    issue = _issue_at(error, "armful:workerPools")
    assert "none is amd64" in issue.problem
    assert issue.fix.endswith(f"or pick topology {suggested}")
