"""The plan: every decision ``pulumi up`` will carry out, computed without Pulumi or a cloud.

``Plan.to_json`` is the stable contract of design §6, read by other tools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from components.core.config import StackConfig
from components.core.pool_planner import plan_pools
from components.core.pools import PoolPlan, PoolRole
from components.core.topology import Topology


class FindingLevel(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: FindingLevel
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level.value, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Plan:
    stack: str
    region: str | None
    config: StackConfig
    pools: tuple[PoolPlan, ...]
    releases: tuple[Any, ...] = ()
    placement: tuple[Any, ...] = ()
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


def build_plan(stack: str, config: StackConfig, region: str | None = None) -> Plan:
    """Config → plan; raises StackConfigError naming every field to fix."""
    pools = tuple(plan_pools(config))
    return Plan(stack=stack, region=region, config=config, pools=pools)
