"""The plan: every decision ``pulumi up`` will carry out, computed without Pulumi or a cloud.

``Plan.to_json`` is the stable contract of design §6, read by other tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from armful.addons.context import VPC_ID
from armful.core.arch import Arch
from armful.core.errors import ConfigIssue, StackConfigError
from armful.core.findings import Finding, FindingLevel
from armful.core.pool_planner import plan_pools
from armful.core.pools import PoolPlan, PoolRole, system_pool
from armful.core.topology import Topology
from armful.placement.app_placement import WorkloadPlacement, place_user_workloads
from armful.planning.capacity import PoolCapacity, addon_pod_groups, plan_capacity, user_pod_groups
from armful.planning.releases import (
    ManagedAddonPlan,
    PlacementEntry,
    ReleasePlan,
    plan_managed_addons,
    plan_releases,
)
from armful.planning.stack_config import StackConfig


class PlanError(ValueError):
    """The plan has error findings: something would be stranded, on the wrong arch or miss a pool."""

    def __init__(self, findings: Iterable[Finding], subject: str = "this stack") -> None:
        self.findings = tuple(f for f in findings if f.level is FindingLevel.ERROR)
        errors = [f"  - [{f.code}] {f.message}" for f in self.findings]
        super().__init__(f"Armful will not create {subject}; the plan has errors:\n" + "\n".join(errors))


@dataclass(frozen=True)
class Plan:
    stack: str
    region: str
    config: StackConfig
    pools: tuple[PoolPlan, ...]
    releases: tuple[ReleasePlan, ...] = ()
    managed_addons: tuple[ManagedAddonPlan, ...] = ()
    placement: tuple[PlacementEntry, ...] = ()
    workloads: tuple[WorkloadPlacement, ...] = ()
    capacity: tuple[PoolCapacity, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def topology(self) -> Topology:
        return self.config.topology

    @property
    def system_pool(self) -> PoolPlan:
        return system_pool(self.pools)

    @property
    def worker_pools(self) -> tuple[PoolPlan, ...]:
        return tuple(pool for pool in self.pools if pool.role is PoolRole.WORKERS)

    @property
    def has_errors(self) -> bool:
        return any(finding.level is FindingLevel.ERROR for finding in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "topology": self.topology.value,
            "pools": [pool.to_json() for pool in self.pools],
            "releases": [release.to_json() for release in self.releases],
            "placement": [entry.to_json() for entry in self.placement],
            "managed_addons": [addon.to_json() for addon in self.managed_addons],
            "workloads": [workload.to_json() for workload in self.workloads],
            "capacity": [pool.to_json() for pool in self.capacity],
            "findings": [finding.to_json() for finding in self.findings],
        }


def build_plan(
    stack: str, config: StackConfig, region: str, image_arches: Mapping[str, frozenset[Arch]] | None = None
) -> Plan:
    """Config → plan; raises StackConfigError naming every field to fix.

    ``image_arches`` are platforms read from registries (``readiness``); they win over the arches
    declared for the user's workloads.
    """
    if not region:
        raise StackConfigError(
            [
                ConfigIssue(
                    "aws:region", "no AWS region is set", "pulumi config set aws:region us-west-2 (or yours)"
                )
            ]
        )
    pools = tuple(plan_pools(config))
    vpc_id = VPC_ID if config.network.vpc_id is None else config.network.vpc_id
    releases, placement, findings = plan_releases(
        config.addons, config.topology, pools, config.cluster.name, region, vpc_id
    )
    managed, managed_placement, managed_findings = plan_managed_addons(
        config.addons, config.topology, pools, config.cluster.name, region
    )
    workloads, workload_findings = place_user_workloads(
        config.workloads, config.topology, config.preferred_arch, pools, image_arches, stack
    )
    addons = [(release.spec, release.values) for release in releases] + [
        (addon.spec, addon.configuration_values) for addon in managed
    ]
    all_placement = placement + managed_placement
    groups = addon_pod_groups(addons, all_placement, pools) + user_pod_groups(config.workloads, workloads)
    capacity, capacity_findings = plan_capacity(pools, groups)
    return Plan(
        stack=stack,
        region=region,
        config=config,
        pools=pools,
        releases=tuple(releases),
        managed_addons=tuple(managed),
        placement=tuple(all_placement),
        workloads=tuple(workloads),
        capacity=tuple(capacity),
        findings=tuple(findings + managed_findings + workload_findings + capacity_findings),
    )
