"""The plan: every decision ``pulumi up`` will carry out, computed without Pulumi or a cloud.

``Plan.to_json`` is the stable contract of design §6, read by other tools.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from armful.addons.context import VPC_ID
from armful.core.arch import Arch
from armful.core.errors import ConfigIssue, StackConfigError
from armful.core.findings import Finding, FindingLevel
from armful.core.karpenter_pools import NodePoolPlan
from armful.core.pool_planner import plan_pools
from armful.core.pools import PoolPlan, PoolRole, Provisioner, managed_pools, system_pool
from armful.core.topology import Topology
from armful.placement.app_placement import WorkloadPlacement, place_user_workloads
from armful.planning.capacity import PoolCapacity, addon_pod_groups, plan_capacity, user_pod_groups
from armful.planning.elastic_capacity import ElasticCapacity, overflow, plan_elastic_capacity, spilled
from armful.planning.karpenter_plan import plan_karpenter_node_pools
from armful.planning.network_plan import network_description
from armful.planning.network_policies_plan import PlannedPolicy, plan_network_policies
from armful.planning.releases import (
    ManagedAddonPlan,
    PlacementEntry,
    ReleaseFinding,
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
class Verdict:
    """Whether the stack is ready to deploy, and why not, in one line."""

    ready: bool
    errors: tuple[str, ...]
    """The codes of the error findings, each once."""
    error_count: int
    warning_count: int
    pools: int
    releases: int
    managed_addons: int
    placed: int
    workloads: int
    yours_placed: int
    yours: int
    unproven: str | None
    """What could not be proven (charts that could not be rendered), when the rest holds."""
    tightest_pool: str | None
    """The pool with the least CPU, memory or pod slots left at its minimum size."""
    tightest_headroom: float | None

    @property
    def line(self) -> str:
        counts = (
            f"{_count(self.error_count, 'error')}, {_count(self.warning_count, 'warning')}; "
            f"{_count(self.pools, 'pool')}, {_count(self.releases, 'Helm release')}, "
            f"{_count(self.managed_addons, 'EKS add-on')}, {self.placed} of {self.workloads} add-on workloads "
            "placed"
        )
        if self.yours:
            counts += f", {self.yours_placed} of {self.yours} of yours"
        if self.tightest_pool is not None and self.tightest_headroom is not None:
            counts += f", tightest headroom {self.tightest_headroom:.0%} ({self.tightest_pool})"
        if not self.ready:
            return f"NOT READY: {', '.join(self.errors)}. {counts}"
        if self.unproven:
            return f"NOT PROVEN: {self.unproven}. {counts}"
        return f"READY to deploy: {counts}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready and not self.unproven,
            "errors": self.error_count,
            "warnings": self.warning_count,
            "error_codes": list(self.errors),
            "summary": self.line,
        }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


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
    node_pools: tuple[NodePoolPlan, ...] = ()
    """Karpenter's NodePools; each is also in ``pools``, as placement sees it."""
    elastic_capacity: tuple[ElasticCapacity, ...] = ()
    network_policies: tuple[PlannedPolicy, ...] = ()

    @property
    def topology(self) -> Topology:
        return self.config.topology

    @property
    def system_pool(self) -> PoolPlan:
        return system_pool(self.pools)

    @property
    def managed_pools(self) -> tuple[PoolPlan, ...]:
        """The EKS managed node groups, without Karpenter's NodePools."""
        return managed_pools(self.pools)

    @property
    def worker_pools(self) -> tuple[PoolPlan, ...]:
        return tuple(pool for pool in self.pools if pool.role is PoolRole.WORKERS)

    @property
    def has_errors(self) -> bool:
        return any(finding.level is FindingLevel.ERROR for finding in self.findings)

    def proven_by_render(self, releases: Collection[str]) -> Plan:
        """This plan once ``plan --render`` has rendered ``releases`` and found each of their pod templates
        placed: what they turn on beyond Armful's declarations is proven to land where it should, so
        those errors become warnings that still say its pods are not counted in capacity."""
        findings = tuple(
            Finding(FindingLevel.WARNING, finding.code, finding.settled)
            if isinstance(finding, ReleaseFinding) and finding.settled and finding.release in releases
            else finding
            for finding in self.findings
        )
        return replace(self, findings=findings)

    def cluster_json(self) -> dict[str, Any]:
        cluster = self.config.cluster
        return {
            "name": cluster.name,
            "region": self.region,
            "kubernetes_version": cluster.kubernetes_version,
            "endpoint": {
                "private": True,
                "public_access_cidrs": [str(cidr) for cidr in cluster.endpoint.public_access_cidrs],
            },
        }

    def verdict(self, more_findings: Sequence[Finding] = (), unproven: str | None = None) -> Verdict:
        """``more_findings`` and ``unproven`` are what rendering the charts added: its findings, and what
        it could not render (the plan is then not proven, whatever the declared model says)."""
        findings = [*self.findings, *more_findings]
        errors = [f for f in findings if f.level is FindingLevel.ERROR]
        warnings = [f for f in findings if f.level is FindingLevel.WARNING]
        placed = [entry for entry in self.placement if entry.pools]
        tightest = min(
            (pool for pool in self.capacity if pool.at_min.nodes),
            key=lambda pool: pool.headroom_share,
            default=None,
        )
        return Verdict(
            ready=not errors,
            errors=tuple(dict.fromkeys(f.code for f in errors)),
            error_count=len(errors),
            warning_count=len(warnings),
            pools=len(self.pools),
            releases=len(self.releases),
            managed_addons=len(self.managed_addons),
            placed=len(placed),
            workloads=len(self.placement),
            yours_placed=sum(1 for workload in self.workloads if workload.pools),
            yours=len(self.workloads),
            unproven=unproven,
            tightest_pool=tightest.pool.name if tightest else None,
            tightest_headroom=tightest.headroom_share if tightest else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "topology": self.topology.value,
            "verdict": self.verdict().to_json(),
            "cluster": self.cluster_json(),
            "network": {
                **network_description(self.config.network),
                "network_policies": network_policies_json(
                    self.config.addons.network_policies_enabled(), self.network_policies
                ),
            },
            "pools": [self._pool_json(pool) for pool in self.pools],
            "releases": [release.to_json() for release in self.releases],
            "placement": [entry.to_json() for entry in self.placement],
            "managed_addons": [addon.to_json() for addon in self.managed_addons],
            "workloads": [workload.to_json() for workload in self.workloads],
            "capacity": [pool.to_json() for pool in self.capacity],
            "elastic_capacity": [pool.to_json() for pool in self.elastic_capacity],
            "findings": [finding.to_json() for finding in self.findings],
        }

    def _pool_json(self, pool: PoolPlan) -> dict[str, Any]:
        if pool.provisioner is Provisioner.KARPENTER:
            return next(node_pool for node_pool in self.node_pools if node_pool.name == pool.name).to_json()
        return pool.to_json()


def network_policies_json(enabled: bool, policies: Sequence[PlannedPolicy]) -> dict[str, Any]:
    """The switch, whether the VPC CNI enforces policies, and every NetworkPolicy as ``pulumi up`` applies it."""
    return {
        "enabled": enabled,
        "vpc_cni_enforces": enabled,
        "namespaces": sorted({policy.namespace for policy in policies}),
        "policies": [policy.to_json() for policy in policies],
    }


def build_plan(
    stack: str, config: StackConfig, region: str, image_arches: Mapping[str, frozenset[Arch]] | None = None
) -> Plan:
    """Config → plan; raises StackConfigError naming every field to fix.

    ``image_arches`` are platforms read from registries (``readiness``); they win over the arches
    declared for the user's workloads and the add-ons' images, and judge the images overrides name.
    """
    if not region:
        raise StackConfigError(
            [
                ConfigIssue(
                    "aws:region", "no AWS region is set", "pulumi config set aws:region us-west-2 (or yours)"
                )
            ]
        )
    node_pools = tuple(plan_karpenter_node_pools(config))
    managed = plan_pools(config, elastic_arches=frozenset(node_pool.arch for node_pool in node_pools))
    pools = (*managed, *(node_pool.as_pool() for node_pool in node_pools))
    vpc_id = VPC_ID if config.network.vpc_id is None else config.network.vpc_id
    releases, placement, findings = plan_releases(
        config.addons, config.topology, pools, config.cluster.name, region, vpc_id, image_arches
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
    # What the managed pools have no room for, a NodePool may take: it is charged to that NodePool instead.
    may_spill = overflow(node_pools, groups)
    capacity, capacity_findings = plan_capacity(pools, groups, may_spill)
    elastic, elastic_findings = plan_elastic_capacity(
        node_pools, groups, spilled(managed_pools(pools), groups, may_spill)
    )
    return Plan(
        network_policies=plan_network_policies(releases, config.addons),
        stack=stack,
        region=region,
        config=config,
        pools=pools,
        releases=tuple(releases),
        managed_addons=tuple(managed),
        placement=tuple(all_placement),
        workloads=tuple(workloads),
        capacity=tuple(capacity),
        findings=tuple(
            findings + managed_findings + workload_findings + capacity_findings + elastic_findings
        ),
        node_pools=node_pools,
        elastic_capacity=tuple(elastic),
    )
