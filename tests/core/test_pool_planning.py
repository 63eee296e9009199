"""Pool planning: what each topology's pools get from Armful (design §1, §2, §7).

Labels and taints decide where every pod lands, the AMI type decides whether a node boots, and the
subnet layout decides whether the VPC can be created at all, so each is checked per topology and per
option a user can set.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from armful.core.arch import Arch
from armful.core.config import PoolsConfig
from armful.core.network_layout import subnet_layout
from armful.core.pool_planner import plan_pools
from armful.core.pools import POOL_LABEL, ROLE_LABEL, CapacityType, OsFamily, PoolPlan, PoolRole
from armful.core.taints import Taint, TaintEffect

CRITICAL_ADDONS_ONLY = Taint("CriticalAddonsOnly", "true", TaintEffect.NO_SCHEDULE)
AMD64_ARCH_TAINT = Taint("kubernetes.io/arch", "amd64", TaintEffect.NO_SCHEDULE)
ARM64_ARCH_TAINT = Taint("kubernetes.io/arch", "arm64", TaintEffect.NO_SCHEDULE)

X86 = ["m7i.large", "m6i.large"]
ARM = ["m7g.large", "m8g.large"]


def _pool(name: str, instance_types: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "instanceTypes": instance_types, **extra}


def _plan(topology: str, system: dict, workers: list[dict], **extra: Any) -> dict[str, PoolPlan]:
    config = PoolsConfig.model_validate(
        {"topology": topology, "systemPool": system, "workerPools": workers, **extra}
    )
    return {pool.name: pool for pool in plan_pools(config)}


# A valid layout of each topology: (topology, system instance types, {worker name: instance types}).
TOPOLOGIES = {
    "arm-workers": ("arm-workers", X86, {"apps": ARM, "batch": ["c7g.xlarge"]}),
    "all-arm": ("all-arm", ARM, {"apps": ARM, "batch": ["c7g.xlarge"]}),
    "mixed-x86-system": ("mixed", X86, {"apps": ARM, "legacy": X86}),
    "mixed-arm-system": ("mixed", ARM, {"apps": ARM, "legacy": X86}),
}


def _topology_plan(key: str) -> dict[str, PoolPlan]:
    topology, system, workers = TOPOLOGIES[key]
    return _plan(topology, _pool("system", system), [_pool(name, types) for name, types in workers.items()])


@pytest.mark.parametrize("key", TOPOLOGIES)
def test_every_pool_is_labelled_with_its_name_and_role(key: str) -> None:
    plans = _topology_plan(key)
    _, _, workers = TOPOLOGIES[key]
    assert list(plans) == ["system", *workers], "system pool first, then workers in config order"
    assert plans["system"].labels == {POOL_LABEL: "system", ROLE_LABEL: "system"}
    assert plans["system"].role is PoolRole.SYSTEM
    for name in workers:
        assert plans[name].labels == {POOL_LABEL: name, ROLE_LABEL: "workers"}
        assert plans[name].role is PoolRole.WORKERS


@pytest.mark.parametrize("key", TOPOLOGIES)
def test_system_pool_takes_only_critical_addons(key: str) -> None:
    assert _topology_plan(key)["system"].taints == (CRITICAL_ADDONS_ONLY,)


@pytest.mark.parametrize("key", ["arm-workers", "all-arm"])
def test_single_arch_worker_pools_are_untainted(key: str) -> None:
    plans = _topology_plan(key)
    assert all(pool.taints == () for pool in plans.values() if pool.role is PoolRole.WORKERS)


@pytest.mark.parametrize(
    ("key", "system_arch", "worker_arches"),
    [
        ("arm-workers", Arch.AMD64, {Arch.ARM64}),
        ("all-arm", Arch.ARM64, {Arch.ARM64}),
        ("mixed-x86-system", Arch.AMD64, {Arch.ARM64, Arch.AMD64}),
        ("mixed-arm-system", Arch.ARM64, {Arch.ARM64, Arch.AMD64}),
    ],
    ids=["arm-workers", "all-arm", "mixed-x86-system", "mixed-arm-system"],
)
def test_pool_arch_follows_instance_types(key: str, system_arch: Arch, worker_arches: set[Arch]) -> None:
    plans = _topology_plan(key)
    assert plans["system"].arch is system_arch
    assert {pool.arch for pool in plans.values() if pool.role is PoolRole.WORKERS} == worker_arches


@pytest.mark.parametrize(
    ("preferred", "tainted_pool", "taint", "untainted_pool"),
    [
        (None, "legacy", AMD64_ARCH_TAINT, "apps"),
        ("arm64", "legacy", AMD64_ARCH_TAINT, "apps"),
        ("amd64", "apps", ARM64_ARCH_TAINT, "legacy"),
    ],
    ids=["default-prefers-arm64", "prefers-arm64", "prefers-amd64"],
)
def test_mixed_taints_the_non_preferred_arch(
    preferred: str | None, tainted_pool: str, taint: Taint, untainted_pool: str
) -> None:
    extra = {} if preferred is None else {"preferredArch": preferred}
    plans = _plan(
        "mixed",
        _pool("system", X86),
        [_pool("apps", ARM), _pool("legacy", X86)],
        **extra,
    )
    assert plans[tainted_pool].taints == (taint,)
    assert plans[untainted_pool].taints == ()
    assert plans["system"].taints == (CRITICAL_ADDONS_ONLY,), "the system pool is only for critical add-ons"


def test_user_taints_and_labels_come_after_armfuls() -> None:
    plans = _plan(
        "mixed",
        _pool("system", ARM, labels={"example.com/team": "platform"}),
        [
            _pool("apps", ARM),
            _pool(
                "legacy",
                X86,
                labels={"example.com/tier": "legacy"},
                taints=[{"key": "example.com/dedicated", "value": "legacy", "effect": "NoExecute"}],
            ),
        ],
    )
    user_taint = Taint("example.com/dedicated", "legacy", TaintEffect.NO_EXECUTE)
    assert plans["legacy"].taints == (AMD64_ARCH_TAINT, user_taint)
    assert plans["legacy"].labels == {
        POOL_LABEL: "legacy",
        ROLE_LABEL: "workers",
        "example.com/tier": "legacy",
    }
    assert plans["system"].taints == (CRITICAL_ADDONS_ONLY,)
    assert plans["system"].labels["example.com/team"] == "platform"


def test_user_taint_effect_defaults_to_no_schedule() -> None:
    plans = _plan("all-arm", _pool("system", ARM), [_pool("apps", ARM, taints=[{"key": "example.com/gpu"}])])
    assert plans["apps"].taints == (Taint("example.com/gpu", "", TaintEffect.NO_SCHEDULE),)


@pytest.mark.parametrize(
    ("os_family", "instance_types", "ami_type"),
    [
        ("AL2023", X86, "AL2023_x86_64_STANDARD"),
        ("AL2023", ARM, "AL2023_ARM_64_STANDARD"),
        ("Bottlerocket", X86, "BOTTLEROCKET_x86_64"),
        ("Bottlerocket", ARM, "BOTTLEROCKET_ARM_64"),
        (None, X86, "AL2023_x86_64_STANDARD"),
        (None, ARM, "AL2023_ARM_64_STANDARD"),
        ("bottlerocket", ARM, "BOTTLEROCKET_ARM_64"),
        ("al2023", X86, "AL2023_x86_64_STANDARD"),
    ],
    ids=[
        "al2023-amd64",
        "al2023-arm64",
        "bottlerocket-amd64",
        "bottlerocket-arm64",
        "default-os-amd64",
        "default-os-arm64",
        "lower-case-bottlerocket",
        "lower-case-al2023",
    ],
)
def test_ami_type_from_os_family_and_arch(
    os_family: str | None, instance_types: list[str], ami_type: str
) -> None:
    extra = {} if os_family is None else {"osFamily": os_family}
    plans = _plan(
        "mixed",
        _pool("system", ARM),
        [_pool("apps", ARM), _pool("legacy", X86), _pool("pool", instance_types, **extra)],
    )
    assert plans["pool"].ami_type == ami_type
    assert plans["pool"].to_json()["ami_type"] == ami_type


@pytest.mark.parametrize(
    ("effect", "eks_effect"),
    [
        (TaintEffect.NO_SCHEDULE, "NO_SCHEDULE"),
        (TaintEffect.PREFER_NO_SCHEDULE, "PREFER_NO_SCHEDULE"),
        (TaintEffect.NO_EXECUTE, "NO_EXECUTE"),
    ],
    ids=["NoSchedule", "PreferNoSchedule", "NoExecute"],
)
def test_taint_forms_for_eks_and_kubernetes(effect: TaintEffect, eks_effect: str) -> None:
    taint = Taint("example.com/dedicated", "db", effect)
    assert taint.to_eks() == {"key": "example.com/dedicated", "value": "db", "effect": eks_effect}
    assert taint.to_kubernetes() == {"key": "example.com/dedicated", "value": "db", "effect": effect.value}
    assert taint.toleration() == {
        "key": "example.com/dedicated",
        "operator": "Equal",
        "value": "db",
        "effect": effect.value,
    }
    assert str(taint) == f"example.com/dedicated=db:{effect.value}"


def test_planned_system_taint_in_both_forms() -> None:
    system = _topology_plan("arm-workers")["system"]
    assert [t.to_eks() for t in system.taints] == [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
    ]
    assert system.to_json()["taints"] == [
        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}
    ]


@pytest.mark.parametrize(
    ("spelling", "capacity_type"),
    [
        ("spot", CapacityType.SPOT),
        ("SPOT", CapacityType.SPOT),
        ("on-demand", CapacityType.ON_DEMAND),
        ("On-Demand", CapacityType.ON_DEMAND),
        ("ON_DEMAND", CapacityType.ON_DEMAND),
        (None, CapacityType.ON_DEMAND),
    ],
    ids=["spot", "SPOT", "on-demand", "On-Demand", "ON_DEMAND", "default"],
)
def test_capacity_type_spellings(spelling: str | None, capacity_type: CapacityType) -> None:
    extra = {} if spelling is None else {"capacityType": spelling}
    plans = _plan("all-arm", _pool("system", ARM), [_pool("apps", ARM, **extra)])
    assert plans["apps"].capacity_type is capacity_type
    assert plans["apps"].to_json()["capacity_type"] == capacity_type.value


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ({}, (2, 2, 4)),
        ({"minSize": 0, "maxSize": 20}, (0, 0, 20)),
        ({"minSize": 3, "maxSize": 10}, (3, 3, 10)),
        ({"minSize": 1, "maxSize": 5, "desiredSize": 4}, (1, 4, 5)),
        ({"minSize": 2, "maxSize": 2, "desiredSize": 2}, (2, 2, 2)),
    ],
    ids=["defaults", "scale-from-zero", "desired-defaults-to-min", "explicit-desired", "fixed-size"],
)
def test_desired_size_defaults_to_min(sizes: dict[str, int], expected: tuple[int, int, int]) -> None:
    pool = _plan("all-arm", _pool("system", ARM), [_pool("apps", ARM, **sizes)])["apps"]
    assert (pool.min_size, pool.desired_size, pool.max_size) == expected


@pytest.mark.parametrize(
    ("os_family", "disk", "devices"),
    [
        ("AL2023", None, (("/dev/xvda", 50),)),
        ("AL2023", 120, (("/dev/xvda", 120),)),
        ("Bottlerocket", None, (("/dev/xvda", None), ("/dev/xvdb", 50))),
        ("Bottlerocket", 200, (("/dev/xvda", None), ("/dev/xvdb", 200))),
    ],
    ids=["al2023-default-disk", "al2023-root-sized", "bottlerocket-default-disk", "bottlerocket-data-sized"],
)
def test_block_devices(os_family: str, disk: int | None, devices: tuple) -> None:
    """AL2023 keeps everything on its root volume; Bottlerocket keeps images on the /dev/xvdb data volume."""
    extra = {"osFamily": os_family} | ({} if disk is None else {"diskSizeGib": disk})
    pool = _plan("all-arm", _pool("system", ARM), [_pool("apps", ARM, **extra)])["apps"]
    assert pool.block_devices == devices


@pytest.mark.parametrize(
    ("max_size", "max_unavailable"),
    [(1, 1), (4, 1), (7, 1), (8, 2), (12, 3), (20, 5)],
    ids=["max-1", "max-4", "max-7", "max-8", "max-12", "max-20"],
)
def test_rolling_update_replaces_a_quarter_at_most_but_at_least_one(
    max_size: int, max_unavailable: int
) -> None:
    pool = _plan("all-arm", _pool("system", ARM), [_pool("apps", ARM, minSize=1, maxSize=max_size)])["apps"]
    assert pool.max_unavailable == max_unavailable


def test_unknown_family_takes_the_configured_arch() -> None:
    figures = {"vcpus": 4, "memoryMib": 16384, "maxPods": 58}
    apps = _pool("apps", ["zz9.large"], arch="arm64", nodeCapacity=figures)
    pool = _plan("all-arm", _pool("system", ARM), [apps])["apps"]
    assert pool.arch is Arch.ARM64
    assert pool.ami_type == "AL2023_ARM_64_STANDARD"


def test_os_family_of_plan_is_the_enum() -> None:
    pool = _plan("all-arm", _pool("system", ARM), [_pool("apps", ARM, osFamily="Bottlerocket")])["apps"]
    assert pool.os_family is OsFamily.BOTTLEROCKET


# --- subnet layout of a VPC Armful creates ---------------------------------------------------------


def test_slash_16_with_three_zones() -> None:
    layout = subnet_layout(IPv4Network("10.0.0.0/16"), 3)
    assert layout.private == (
        IPv4Network("10.0.0.0/19"),
        IPv4Network("10.0.32.0/19"),
        IPv4Network("10.0.64.0/19"),
    )
    assert layout.public == (
        IPv4Network("10.0.224.0/22"),
        IPv4Network("10.0.228.0/22"),
        IPv4Network("10.0.232.0/22"),
    )


@given(
    network=st.builds(
        lambda address, prefix: IPv4Network((address, prefix), strict=False),
        st.integers(min_value=0, max_value=2**32 - 1),
        st.integers(min_value=16, max_value=20),
    ),
    zones=st.integers(min_value=2, max_value=6),
)
def test_subnets_fit_inside_the_vpc_without_overlap(network: IPv4Network, zones: int) -> None:
    """Any VPC block the config accepts (/16 to /20) and any zone count (2-6) yields a valid layout."""
    layout = subnet_layout(network, zones)
    subnets = [*layout.private, *layout.public]
    assert len(layout.private) == zones
    assert len(layout.public) == zones
    assert all(subnet.subnet_of(network) for subnet in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
    assert all(p.num_addresses > q.num_addresses for p in layout.private for q in layout.public), (
        "private subnets hold nodes and pods, so they are the large ones"
    )
