"""Stack config of Karpenter's NodePools: elastic worker capacity, one architecture per NodePool.

Field checks mirror what the pinned chart's CRDs (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1
EC2NodeClass, chart 1.14.1) accept, so a value the API server would refuse fails here with its path.
Rules that relate a NodePool to the topology and the instance catalog live in ``karpenter_pools``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from armful.core.arch import Arch
from armful.core.config import (
    POOL_NAME_MAX,
    CpuAndMemoryConfig,
    ExtraTaintConfig,
    check_unique_taints,
    os_family_spelling,
    reserved_label,
)
from armful.core.config_base import ConfigModel
from armful.core.kubernetes_names import check_label, dns_label_problem
from armful.core.pools import OsFamily

# The patterns of the NodePool CRD's disruption fields (karpenter.sh_nodepools.yaml in chart 1.14.1).
DURATION = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
BUDGET_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")
BUDGET_DURATION = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
INSTANCE_SIZE = re.compile(r"^[a-z0-9-]+$")
INSTANCE_FAMILY = re.compile(r"^[a-z][a-z0-9-]*$")
INSTANCE_CATEGORY = re.compile(r"^[a-z]+$")
# The schedule pattern of the NodePool CRD's budgets: a macro, or five cron fields.
BUDGET_SCHEDULE = re.compile(
    r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|"
    r"((.+)\s(.+)\s(.+)\s(.+)\s(.+))$"
)
KARPENTER_LABEL_DOMAINS = ("karpenter.sh", "karpenter.k8s.aws")
"""Label domains the NodePool CRD keeps for Karpenter's own labels."""


class KarpenterCapacityType(StrEnum):
    """Karpenter's spelling of EC2 purchase options (label ``karpenter.sh/capacity-type``)."""

    ON_DEMAND = "on-demand"
    SPOT = "spot"


class ConsolidationPolicy(StrEnum):
    WHEN_EMPTY_OR_UNDERUTILIZED = "WhenEmptyOrUnderutilized"
    WHEN_EMPTY = "WhenEmpty"


class DisruptionReason(StrEnum):
    UNDERUTILIZED = "Underutilized"
    EMPTY = "Empty"
    DRIFTED = "Drifted"


def _pattern(value: str, pattern: re.Pattern[str], what: str, example: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}. Fix: write it like {example}")
    return value


class NodePoolLimitsConfig(CpuAndMemoryConfig):
    """The most a NodePool may launch, summed over its nodes' capacity: Karpenter stops there."""

    cpu: str = "64"
    """vCPUs over all its nodes (default 64)."""
    memory: str = "256Gi"
    """Memory over all its nodes (default 256Gi)."""


class DisruptionBudgetConfig(ConfigModel):
    """How many of a NodePool's nodes Karpenter may disrupt at once, optionally only in a window."""

    nodes: str = "10%"
    """A count (``2``) or a share (``10%``) of the NodePool's nodes."""
    schedule: str | None = None
    """A cron schedule at which the budget starts (with ``duration``), e.g. ``0 9 * * mon-fri``."""
    duration: str | None = None
    """How long the budget lasts from each ``schedule`` time, e.g. ``8h``."""
    reasons: list[DisruptionReason] | None = None
    """The disruptions it limits (Underutilized, Empty, Drifted); all when left out."""

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes_form(cls, value: Any) -> Any:
        return _pattern(str(value), BUDGET_NODES, "a node count or percentage", "10% or 2")

    @field_validator("schedule")
    @classmethod
    def _schedule_form(cls, value: str | None) -> str | None:
        return (
            None
            if value is None
            else _pattern(value, BUDGET_SCHEDULE, "a cron schedule", "'0 9 * * mon-fri' or @daily")
        )

    @field_validator("reasons")
    @classmethod
    def _each_reason_once(cls, reasons: list[DisruptionReason] | None) -> list[DisruptionReason] | None:
        if reasons is not None and len(set(reasons)) != len(reasons):
            raise ValueError(
                "a reason is listed twice. Fix: list each of Underutilized, Empty and Drifted once"
            )
        return reasons

    @field_validator("duration")
    @classmethod
    def _duration_form(cls, value: str | None) -> str | None:
        return None if value is None else _pattern(value, BUDGET_DURATION, "a budget duration", "8h or 1h30m")

    @model_validator(mode="after")
    def _schedule_with_duration(self) -> DisruptionBudgetConfig:
        if (self.schedule is None) != (self.duration is None):
            raise ValueError(
                "a budget's schedule and duration go together. Fix: give both (schedule '0 9 * * *', "
                "duration 8h), or neither for a budget that always holds"
            )
        return self


class NodePoolConfig(ConfigModel):
    """A Karpenter NodePool: nodes launched for pending pods, of one architecture, within limits."""

    name: str
    """The NodePool's name: lowercase letters, digits and hyphens. Its nodes carry it as node.armful.dev/pool."""
    arches: list[Arch] | None = None
    """The one architecture of its nodes, as a list (default: the topology's for its workers)."""
    instance_categories: list[str] | None = None
    """EC2 instance categories, such as c, m, r (default c, m, r unless families or types are given)."""
    instance_families: list[str] | None = None
    """EC2 instance families, such as m8g, c8g; each must match the NodePool's arch."""
    instance_sizes: list[str] | None = None
    """EC2 instance sizes, such as large, xlarge, 2xlarge."""
    instance_types: list[str] | None = None
    """An explicit list of EC2 instance types, instead of categories, families and sizes."""
    capacity_types: Annotated[list[KarpenterCapacityType], Field(min_length=1)] = Field(
        default_factory=lambda: [KarpenterCapacityType.ON_DEMAND]
    )
    """spot and/or on-demand (default on-demand); with both, Karpenter prefers spot."""
    os_family: OsFamily = OsFamily.AL2023
    """AL2023 (default) or Bottlerocket: the EC2NodeClass its nodes boot from."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 50
    """Size of each node's encrypted gp3 volume in GiB (default 50)."""
    limits: NodePoolLimitsConfig = Field(default_factory=NodePoolLimitsConfig)
    """The most vCPUs and memory its nodes may add up to."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra node labels, under a domain of your own."""
    taints: list[ExtraTaintConfig] = Field(default_factory=list)
    """Extra taints (Armful adds the arch taint in mixed for the non-preferred arch)."""
    consolidation_policy: ConsolidationPolicy = ConsolidationPolicy.WHEN_EMPTY_OR_UNDERUTILIZED
    """WhenEmptyOrUnderutilized (default) or WhenEmpty."""
    consolidate_after: str = "1m"
    """How long a node stays empty or underutilized before Karpenter consolidates it (default 1m), or Never."""
    expire_after: str = "720h"
    """Node lifetime before Karpenter replaces it (default 720h, 30 days), or Never."""
    budgets: list[DisruptionBudgetConfig] = Field(default_factory=lambda: [DisruptionBudgetConfig()])
    """Disruption budgets (default: 10% of nodes at a time)."""
    weight: Annotated[int | None, Field(ge=1, le=100)] = None
    """Priority among NodePools that fit the same pod: the higher is tried first."""

    @field_validator("name")
    @classmethod
    def _name_form(cls, name: str) -> str:
        problem = dns_label_problem(name, "NodePool name", POOL_NAME_MAX)
        if problem:
            raise ValueError(f"{problem}. Fix: name the NodePool like arm64-general")
        return name

    @field_validator("consolidate_after", "expire_after")
    @classmethod
    def _duration_form(cls, value: str) -> str:
        return _pattern(value, DURATION, "a Karpenter duration", "1m, 720h or Never")

    @field_validator("instance_categories")
    @classmethod
    def _categories_form(cls, values: list[str] | None) -> list[str] | None:
        return _listed(values, INSTANCE_CATEGORY, "an EC2 instance category", "c, m or r")

    @field_validator("instance_families")
    @classmethod
    def _families_form(cls, values: list[str] | None) -> list[str] | None:
        return _listed(values, INSTANCE_FAMILY, "an EC2 instance family", "m8g")

    @field_validator("instance_sizes")
    @classmethod
    def _sizes_form(cls, values: list[str] | None) -> list[str] | None:
        return _listed(values, INSTANCE_SIZE, "an EC2 instance size", "xlarge")

    @field_validator("instance_types")
    @classmethod
    def _types_form(cls, values: list[str] | None) -> list[str] | None:
        return _listed(
            values, re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"), "an EC2 instance type", "m8g.xlarge"
        )

    @field_validator("capacity_types")
    @classmethod
    def _each_capacity_once(cls, values: list[KarpenterCapacityType]) -> list[KarpenterCapacityType]:
        if len(set(values)) != len(values):
            raise ValueError("a capacity type is listed twice. Fix: list spot and on-demand once each")
        return values

    @field_validator("labels")
    @classmethod
    def _labels_not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        for key, value in labels.items():
            check_label(key, value, eks_node_group=False)
            domain = key.split("/", 1)[0] if "/" in key else ""
            if reserved_label(key) or domain.endswith(KARPENTER_LABEL_DOMAINS):
                raise ValueError(
                    f"label {key!r} uses a prefix Armful, Karpenter or Kubernetes sets on nodes. "
                    "Fix: use a key of your own domain, such as example.com/team"
                )
        return labels

    @field_validator("taints")
    @classmethod
    def _unique_taints(cls, taints: list[ExtraTaintConfig]) -> list[ExtraTaintConfig]:
        check_unique_taints(list(taints))
        return taints

    @field_validator("os_family", mode="before")
    @classmethod
    def _os_spelling(cls, value: Any) -> Any:
        return os_family_spelling(value)

    @model_validator(mode="after")
    def _types_or_selectors(self) -> NodePoolConfig:
        selectors = [
            name
            for name, value in (
                ("instanceCategories", self.instance_categories),
                ("instanceFamilies", self.instance_families),
                ("instanceSizes", self.instance_sizes),
            )
            if value is not None
        ]
        if self.instance_types is not None and selectors:
            raise ValueError(
                f"instanceTypes is an explicit list, and {', '.join(selectors)} would narrow it again. "
                "Fix: give either instanceTypes, or categories, families and sizes"
            )
        if self.arches is not None and len(self.arches) != 1:
            raise ValueError(
                f"arches lists {len(self.arches)} architectures; Armful taints and places pools by arch, so "
                "each NodePool has one. Fix: one NodePool per arch, e.g. arches: [arm64]"
            )
        return self


def _listed(values: list[str] | None, pattern: re.Pattern[str], what: str, example: str) -> list[str] | None:
    if values is None:
        return None
    if not values:
        raise ValueError(
            f"the list is empty. Fix: name at least one {what.removeprefix('an ')}, or leave it out"
        )
    for value in values:
        _pattern(value, pattern, what, example)
    if len(set(values)) != len(values):
        raise ValueError(f"{what.removeprefix('an ')} is listed twice. Fix: list each once")
    return values
