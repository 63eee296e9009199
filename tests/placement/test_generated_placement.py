"""The selectors and tolerations Armful generates pass the scheduler model exactly where intended.

Property tests over generated topologies: pools with random names, user labels and taints.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from armful.addons.registry import ADDONS
from armful.core.config import PoolsConfig
from armful.core.pool_planner import plan_pools
from armful.core.pools import PoolPlan, PoolRole
from armful.placement.app_placement import pool_placement
from armful.placement.scheduler import NodeProfile, evaluate
from armful.placement.values import placement_values
from armful.placement.workloads import Workload
from armful.planning.releases import pod_spec_at

ARM_TYPES = ["m7g.large", "c8g.xlarge", "r7g.2xlarge"]
X86_TYPES = ["m7i.large", "c7a.xlarge", "r6i.2xlarge"]

taints = st.lists(
    st.fixed_dictionaries(
        {
            "key": st.sampled_from(["example.com/team", "example.com/spot", "dedicated"]),
            "value": st.sampled_from(["", "a", "true"]),
            "effect": st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"]),
        }
    ),
    max_size=2,
    unique_by=lambda taint: (taint["key"], taint["effect"]),
)


@st.composite
def topologies(draw: st.DrawFn) -> list[PoolPlan]:
    topology = draw(st.sampled_from(["arm-workers", "all-arm", "mixed"]))
    system_types = X86_TYPES if topology == "arm-workers" else ARM_TYPES
    if topology == "mixed":
        system_types = draw(st.sampled_from([ARM_TYPES, X86_TYPES]))
    count = draw(st.integers(min_value=2 if topology == "mixed" else 1, max_value=4))
    workers = []
    for index in range(count):
        if topology == "mixed":
            types = (
                ARM_TYPES
                if index == 0
                else X86_TYPES
                if index == 1
                else draw(st.sampled_from([ARM_TYPES, X86_TYPES]))
            )
        else:
            types = ARM_TYPES
        workers.append(
            {"name": f"pool-{index}", "instanceTypes": [draw(st.sampled_from(types))], "taints": draw(taints)}
        )
    config: dict[str, Any] = {
        "topology": topology,
        "systemPool": {"name": "system", "instanceTypes": [system_types[0]], "taints": draw(taints)},
        "workerPools": workers,
    }
    if topology == "mixed":
        config["preferredArch"] = draw(st.sampled_from(["arm64", "amd64"]))
    return plan_pools(PoolsConfig.model_validate(config))


def lands_on(pod_spec: dict[str, Any], pools: list[PoolPlan]) -> set[str]:
    return {pool.name for pool in pools if evaluate(pod_spec, NodeProfile.of_pool(pool)).schedulable}


@settings(max_examples=60, deadline=None)
@given(topologies())
def test_an_apps_pool_placement_lands_on_that_pool_only(pools: list[PoolPlan]) -> None:
    for pool in pools:
        if pool.role is PoolRole.WORKERS:
            assert lands_on(pool_placement(pool).pod_spec(["app:1"]), pools) == {pool.name}


WORKLOADS: list[Workload] = [workload for spec in ADDONS for workload in spec.workloads]


@settings(max_examples=40, deadline=None)
@given(topologies(), st.sampled_from(WORKLOADS))
def test_add_on_placement_reaches_the_system_pool_or_every_pool(
    pools: list[PoolPlan], workload: Workload
) -> None:
    pod_spec = pod_spec_at(workload, placement_values(workload, pools))
    expected = {p.name for p in pools} if workload.kind.is_node_agent else {"system"}
    assert lands_on(pod_spec, pools) == expected
