"""The plan: every decision ``pulumi up`` will carry out, computed without Pulumi or a cloud.

``Plan.to_json`` is the stable contract of design §6, read by other tools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.addons.context import VPC_ID, AddonContext
from components.addons.releases import PlacementEntry, ReleasePlan, place_release, release_values
from components.core.config import StackConfig
from components.core.errors import ConfigIssue, StackConfigError
from components.core.findings import Finding, FindingLevel
from components.core.pool_planner import plan_pools
from components.core.pools import PoolPlan, PoolRole
from components.core.topology import Topology


@dataclass(frozen=True)
class Plan:
    stack: str
    region: str
    config: StackConfig
    pools: tuple[PoolPlan, ...]
    releases: tuple[ReleasePlan, ...] = ()
    placement: tuple[PlacementEntry, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def topology(self) -> Topology:
        return self.config.topology

    @property
    def system_pool(self) -> PoolPlan:
        return next(pool for pool in self.pools if pool.role is PoolRole.SYSTEM)

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
            "findings": [finding.to_json() for finding in self.findings],
        }


def build_plan(stack: str, config: StackConfig, region: str) -> Plan:
    """Config → plan; raises StackConfigError naming every field to fix."""
    if not region:
        raise StackConfigError(
            [ConfigIssue("aws:region", "no AWS region is set", "pulumi config set aws:region us-west-2 (or yours)")]
        )
    pools = tuple(plan_pools(config))
    vpc_id = VPC_ID if config.network.vpc_id is None else config.network.vpc_id
    releases, placement, findings = [], [], []
    for spec in config.addons.enabled():
        context = AddonContext(
            topology=config.topology,
            pools=pools,
            cluster_name=config.cluster.name,
            region=region,
            options=config.addons.options_for(spec),
            vpc_id=vpc_id,
        )
        log_group = spec.log_group(config.cluster.name, context.options) if spec.log_group else None
        release = ReleasePlan(spec, release_values(spec, context), log_group)
        entries, release_findings = place_release(spec, release.values, pools, config.topology)
        releases.append(release)
        placement += entries
        findings += release_findings
    return Plan(
        stack=stack,
        region=region,
        config=config,
        pools=pools,
        releases=tuple(releases),
        placement=tuple(placement),
        findings=tuple(findings),
    )
