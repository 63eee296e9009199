"""Stack config → planned node pools, with every pool rule of design §1-2 checked at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from armful.core.arch import Arch, arch_of_instance_type, instance_family
from armful.core.config import PoolConfig, PoolsConfig
from armful.core.errors import ConfigIssue, config_path, raise_if_any
from armful.core.instance_catalog import family_sizes
from armful.core.instance_catalog import instance_type as catalog_entry
from armful.core.kubernetes_names import EKS_TAINTS_MAX
from armful.core.node_allocatable import (
    Allocatable,
    allocatable_of_figures,
    node_room,
    smallest,
    without_vm_overhead,
)
from armful.core.pools import (
    ARCH_LABEL,
    POOL_LABEL,
    ROLE_LABEL,
    CapacityType,
    NodeVersions,
    PoolPlan,
    PoolRole,
)
from armful.core.taints import Taint, TaintEffect
from armful.core.topology import Topology

CRITICAL_ADDONS_ONLY = Taint("CriticalAddonsOnly", "true", TaintEffect.NO_SCHEDULE)


def arch_taint(arch: Arch) -> Taint:
    """The GKE convention: a pool of the non-preferred arch in ``mixed`` takes only pods that opt in."""
    return Taint(ARCH_LABEL, arch.value, TaintEffect.NO_SCHEDULE)


def is_armful_taint(taint: Taint) -> bool:
    """A taint Armful puts on pools by topology, as opposed to one the user added."""
    return taint == CRITICAL_ADDONS_ONLY or (
        taint.key == ARCH_LABEL and taint.effect is TaintEffect.NO_SCHEDULE
    )


def plan_pools(
    config: PoolsConfig, versions: NodeVersions | None = None, elastic_arches: frozenset[Arch] = frozenset()
) -> list[PoolPlan]:
    """The system pool first, then the worker pools in config order; raises StackConfigError.

    ``versions`` are what every node group runs (default: what the config says, ``node_versions``).
    ``elastic_arches`` are the arches of worker capacity besides these node groups (Karpenter's NodePools):
    they count as workers of those arches, and stand in for worker pools where there are none.
    """
    versions = versions or config.node_versions()
    issues: list[ConfigIssue] = []
    if not config.worker_pools and not elastic_arches:
        issues.append(
            ConfigIssue(
                config_path("workerPools"),
                "there is no worker pool, so applications would have nowhere to run",
                "add a worker pool, or enable addons.karpenter for NodePools that launch workers on demand",
            )
        )
    pools_with_paths = [(config.system_pool, PoolRole.SYSTEM, ("systemPool",))] + [
        (pool, PoolRole.WORKERS, ("workerPools", index)) for index, pool in enumerate(config.worker_pools)
    ]
    issues += _duplicate_names(pools_with_paths)

    plans = []
    for pool, role, path in pools_with_paths:
        pool_issues = _size_issues(pool, path) + _role_issues(pool, role, path)
        arch, arch_issues = _resolve_arch(pool, path)
        pool_issues += arch_issues or _catalog_issues(pool, path)
        if arch is not None:
            pool_issues += _taint_count_issues(config, pool, role, arch, path)
        if arch is not None and arch not in config.topology.allowed_arches(role):
            pool_issues.append(
                topology_issue(
                    config.topology,
                    role,
                    f"{pool.name!r} is {arch.value} ({', '.join(pool.instance_types)})",
                    config_path(*path, "instanceTypes"),
                    "instance types for this pool",
                )
            )
        issues += pool_issues
        if not pool_issues and arch is not None:
            plans.append(_plan_pool(config, pool, role, arch, versions))

    if not issues:
        issues += workers_of_every_arch_issues(
            config.topology,
            plans,
            config_path("workerPools"),
            "a worker pool with {arches} instance types",
            elastic_arches,
        )
    raise_if_any(issues)
    return plans


def _plan_pool(
    config: PoolsConfig, pool: PoolConfig, role: PoolRole, arch: Arch, versions: NodeVersions | None
) -> PoolPlan:
    taints = [*_armful_taints(config, role, arch), *(Taint(t.key, t.value, t.effect) for t in pool.taints)]
    node_type, node = _node_room(pool)
    return PoolPlan(
        name=pool.name,
        role=role,
        arch=arch,
        instance_types=tuple(pool.instance_types),
        os_family=pool.os_family,
        capacity_type=pool.capacity_type,
        min_size=pool.min_size,
        max_size=pool.max_size,
        desired_size=pool.effective_desired_size,
        disk_size_gib=pool.disk_size_gib,
        labels={POOL_LABEL: pool.name, ROLE_LABEL: role.value, **pool.labels},
        taints=tuple(taints),
        node_instance_type=node_type,
        node=node,
        versions=versions,
    )


def _node_room(pool: PoolConfig) -> tuple[str, Allocatable]:
    """The room of the pool's smallest node: from the catalog, or from the figures the pool states."""
    figures = pool.node_capacity
    return smallest(
        (
            name,
            without_vm_overhead(
                allocatable_of_figures(figures.vcpus, figures.memory_mib, figures.max_pods),
                figures.memory_mib,
            )
            if figures is not None
            else node_room(known),
        )
        for name in pool.instance_types
        if figures is not None or (known := catalog_entry(name)) is not None
    )


def _catalog_issues(pool: PoolConfig, path: tuple) -> list[ConfigIssue]:
    """A type the catalog does not know cannot be proven to fit anything, unless the pool says its figures."""
    if pool.node_capacity is not None:
        return []
    issues = []
    for index, name in enumerate(pool.instance_types):
        if catalog_entry(name) is not None:
            continue
        sizes = family_sizes(instance_family(name))
        listing = ", ".join(known.name.split(".", 1)[1] for known in sizes)
        issues.append(
            ConfigIssue(
                config_path(*path, "instanceTypes", index),
                f"Armful's instance catalog has no {name!r}, so it cannot prove that the pool's pods fit "
                f"on its nodes" + (f" ({instance_family(name)} comes in {listing})" if listing else ""),
                "correct the size, or give this pool nodeCapacity (vcpus, memoryMib, maxPods) of its "
                "smallest instance type",
            )
        )
    return issues


def _duplicate_names(pools_with_paths: list[tuple[PoolConfig, PoolRole, tuple]]) -> list[ConfigIssue]:
    """Blame each pool that reuses a name taken earlier (the system pool's comes first)."""
    first_path: dict[str, tuple] = {}
    issues = []
    for pool, _, path in pools_with_paths:
        if pool.name in first_path:
            issues.append(
                ConfigIssue(
                    config_path(*path, "name"),
                    f"pool name {pool.name!r} is already used by {config_path(*first_path[pool.name])}",
                    "give every pool, the system pool included, its own name",
                )
            )
        else:
            first_path[pool.name] = path
    return issues


def _size_issues(pool: PoolConfig, path: tuple) -> list[ConfigIssue]:
    if pool.min_size > pool.max_size:
        return [
            ConfigIssue(
                config_path(*path, "minSize"),
                f"minSize {pool.min_size} is greater than maxSize {pool.max_size}",
                f"lower minSize to at most {pool.max_size} or raise maxSize to at least {pool.min_size}",
            )
        ]
    desired = pool.effective_desired_size
    if not pool.min_size <= desired <= pool.max_size:
        return [
            ConfigIssue(
                config_path(*path, "desiredSize"),
                f"desiredSize {desired} is outside [minSize {pool.min_size}, maxSize {pool.max_size}]",
                f"set desiredSize between {pool.min_size} and {pool.max_size}, or remove it",
            )
        ]
    return []


def _role_issues(pool: PoolConfig, role: PoolRole, path: tuple) -> list[ConfigIssue]:
    """The system pool runs CoreDNS, the admission webhooks every release waits for, and the controllers:
    it may never shrink to nothing, nor be reclaimed as spot capacity is, all its nodes at once."""
    if role is not PoolRole.SYSTEM:
        return []
    issues = []
    if pool.min_size < 1:
        issues.append(
            ConfigIssue(
                config_path(*path, "minSize"),
                "the system pool's minSize is 0, so EKS may scale it to no nodes, leaving CoreDNS and every "
                "add-on controller nowhere to run",
                "set minSize to 3 (one node per AZ; 2 at the very least)",
            )
        )
    if pool.capacity_type is CapacityType.SPOT:
        issues.append(
            ConfigIssue(
                config_path(*path, "capacityType"),
                "the system pool is spot capacity: EC2 reclaims spot nodes at two minutes' notice, often "
                "several at once, taking CoreDNS and the admission webhooks (which refuse every change while "
                "down) with them",
                "remove capacityType (on-demand is the default), and put spot capacity in a worker pool",
            )
        )
    return issues


def _armful_taints(config: PoolsConfig, role: PoolRole, arch: Arch) -> list[Taint]:
    """The taints Armful puts on a pool by its role and the topology, before the user's own."""
    if role is PoolRole.SYSTEM:
        return [CRITICAL_ADDONS_ONLY]
    if config.topology.tainted_arch(arch, config.preferred_arch):
        return [arch_taint(arch)]
    return []


def _taint_count_issues(
    config: PoolsConfig, pool: PoolConfig, role: PoolRole, arch: Arch, path: tuple
) -> list[ConfigIssue]:
    own = len(_armful_taints(config, role, arch))
    if len(pool.taints) + own <= EKS_TAINTS_MAX:
        return []
    return [
        ConfigIssue(
            config_path(*path, "taints"),
            f"{len(pool.taints)} taints are given"
            + (f" and Armful adds {own}" if own else "")
            + f"; the EKS node group API takes at most {EKS_TAINTS_MAX} per node group",
            f"keep at most {EKS_TAINTS_MAX - own} taints on this pool",
        )
    ]


def _resolve_arch(pool: PoolConfig, path: tuple) -> tuple[Arch | None, list[ConfigIssue]]:
    """One arch per pool, from Armful's table; ``arch`` in config only speaks for unknown families."""
    issues: list[ConfigIssue] = []
    arches: dict[Arch, list[str]] = {}
    for index, instance_type in enumerate(pool.instance_types):
        known = arch_of_instance_type(instance_type)
        if known is None and pool.arch is None:
            issues.append(
                ConfigIssue(
                    config_path(*path, "instanceTypes", index),
                    f"Armful does not know the architecture of instance family "
                    f"{instance_family(instance_type)!r}",
                    "check the spelling, or set this pool's arch (amd64 or arm64) if the family is new",
                )
            )
            continue
        if known is not None and pool.arch is not None and known is not pool.arch:
            issues.append(
                ConfigIssue(
                    config_path(*path, "arch"),
                    f"arch is {pool.arch.value} but {instance_type} is {known.value}",
                    "remove arch (Armful derives it from the instance types) or pick matching instance types",
                )
            )
            continue
        arches.setdefault(known or pool.arch, []).append(instance_type)  # type: ignore[arg-type]
    if len(arches) > 1:
        listing = "; ".join(f"{arch.value}: {', '.join(types)}" for arch, types in sorted(arches.items()))
        issues.append(
            ConfigIssue(
                config_path(*path, "instanceTypes"),
                f"pool {pool.name!r} mixes architectures ({listing})",
                "use one architecture per pool: split these instance types into two pools",
            )
        )
    if issues or not arches:
        return None, issues
    return next(iter(arches)), []


def topology_issue(topology: Topology, role: PoolRole, what: str, path: str, remedy: str) -> ConfigIssue:
    """A pool whose arch the topology does not allow in its role (design §1).

    ``what`` says which pool and what it is; ``remedy`` what to change, e.g. "instance types for this pool".
    """
    wanted = " or ".join(sorted(a.value for a in topology.allowed_arches(role)))
    role_name = "system pool" if role is PoolRole.SYSTEM else "worker pool"
    return ConfigIssue(
        path,
        f"{role_name} {what}, but topology {topology.value} ({topology.summary}) needs {wanted} here",
        f"use {wanted} {remedy}, or choose another topology",
    )


def workers_of_every_arch_issues(
    topology: Topology,
    pools: Sequence[PoolPlan],
    path: str,
    remedy: str,
    elastic_arches: frozenset[Arch] = frozenset(),
) -> list[ConfigIssue]:
    """A topology whose workers must span every arch it allows: one arch alone is another topology."""
    if not topology.workers_need_every_arch:
        return []
    worker_arches = {pool.arch for pool in pools if pool.role is PoolRole.WORKERS} | elastic_arches
    missing = sorted(topology.traits.worker_arches - worker_arches)
    if not missing:
        return []
    system_arches = {pool.arch for pool in pools if pool.role is PoolRole.SYSTEM}
    fitting = [
        other.value
        for other in Topology
        if not other.workers_need_every_arch
        and other.traits.worker_arches == worker_arches
        and system_arches <= other.traits.system_arches
    ]
    return [
        ConfigIssue(
            path,
            f"topology {topology.value} ({topology.summary}) needs worker pools of each of its arches, but "
            f"none is {', '.join(missing)}",
            f"add {remedy.format(arches=' or '.join(missing))}"
            + (f", or pick topology {' or '.join(fitting)}" if fitting else ""),
        )
    ]


def pool_config_path(pools: Sequence[PoolPlan], pool: PoolPlan) -> tuple[str | int, ...]:
    """Where a planned pool came from in stack config: ``systemPool`` or ``workerPools[i]``."""
    if pool.role is PoolRole.SYSTEM:
        return ("systemPool",)
    workers = [candidate.name for candidate in pools if candidate.role is PoolRole.WORKERS]
    return ("workerPools", workers.index(pool.name))


def check_ec2_architectures(
    pools: Sequence[PoolPlan], pool: PoolPlan, supported: Mapping[str, Sequence[str]]
) -> None:
    """Cross-check Armful's table with EC2's ``supportedArchitectures`` for each of a pool's types.

    Runs at deploy time with EC2's answers, so a wrong table entry fails at preview, not as a pool of
    nodes that cannot run what is scheduled on them.
    """
    issues = [
        ConfigIssue(
            config_path(*pool_config_path(pools, pool), "instanceTypes"),
            f"pool {pool.name!r}: EC2 says {instance_type} supports {', '.join(architectures) or 'nothing'}, "
            f"but Armful planned it as {pool.arch.ec2_name}",
            "use instance types of one architecture per pool, and report the wrong entry in Armful's "
            "instance-type table",
        )
        for instance_type, architectures in supported.items()
        if pool.arch.ec2_name not in architectures
    ]
    raise_if_any(issues)


def check_ec2_figures(
    pools: Sequence[PoolPlan], pool: PoolPlan, answered: Mapping[str, tuple[int, int]]
) -> None:
    """Cross-check the catalog's vCPUs and memory with EC2's for each of a pool's types, at preview: the
    capacity proof stands on these figures."""
    issues = []
    for name, (vcpus, memory_mib) in answered.items():
        known = catalog_entry(name)
        if known is None or (known.vcpus, known.memory_mib) == (vcpus, memory_mib):
            continue
        issues.append(
            ConfigIssue(
                config_path(*pool_config_path(pools, pool), "instanceTypes"),
                f"pool {pool.name!r}: EC2 says {name} has {vcpus} vCPUs and {memory_mib} MiB, but Armful's "
                f"instance catalog says {known.vcpus} vCPUs and {known.memory_mib} MiB, so its capacity "
                "proof does not hold",
                "report the wrong entry in Armful's instance catalog; meanwhile give the pool nodeCapacity "
                "with EC2's figures",
            )
        )
    raise_if_any(issues)
