"""Rules on what a stack's ``addons.<key>.values`` overrides (and add-on options) may say, checked when
stack config is parsed, so that ``plan`` and the stack program refuse the same overrides in the same words.

- Where Armful fills a value from a Pulumi secret (Grafana's admin password), an override would put the
  secret in the stack file, the state and the Helm release in plain text.
- Every workload's ``nodeSelector``, ``tolerations``, ``affinity`` and ``resources`` keys hold what the
  API server takes (``armful.core.pod_fields``): placement and capacity are proven on them.
- Falco's driver must be one its chart has and every pool's OS can load (``kmod`` cannot load under
  Bottlerocket's lockdown).
- Volumes use the StorageClass Armful creates (``gp3``): a claim naming another stays Pending, and the
  atomic release fails ``pulumi up``.
- Values a chart's templates refuse with ``fail`` (kyverno's ``replicas: 0``, cert-manager's PodMonitor
  beside a ServiceMonitor) are refused with the chart's own message, on the release's final values
  (``refusal_issues``, which planning calls once the values are merged).

The module also says the add-ons' own value patterns in words (``describe_pattern``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from armful.addons import falco, kube_prometheus_stack
from armful.addons.config import AddonsConfig
from armful.addons.context import AddonContext, DeployTime
from armful.addons.eks_managed import MANAGED_ADDONS, ManagedAddonSpec
from armful.addons.spec import AddonSpec, ValuesOverrides
from armful.core.errors import ConfigIssue, config_path, describe_pattern
from armful.core.pod_fields import SCHEDULING_FIELDS, resources_problems
from armful.core.pools import OsFamily
from armful.core.values_tree import get_path, without_nulls
from armful.placement.workloads import all_hold, key_path

if TYPE_CHECKING:
    from armful.planning.stack_config import StackConfig

ARMFUL_STORAGE_CLASS = "gp3"
"""The one StorageClass Armful creates (encrypted EBS gp3, the cluster's default)."""

describe_pattern(
    kube_prometheus_stack.PROMETHEUS_DURATION,
    "a Prometheus duration: whole numbers with units y, w, d, h, m, s or ms, largest first, no spaces",
    "15d, 12h or 2w3d",
)
describe_pattern(
    kube_prometheus_stack.DNS_SUBDOMAIN,
    "a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter "
    "or digit",
    ARMFUL_STORAGE_CLASS,
)

MAX_ADDON_REPLICAS = 100
"""Replicas an override may give one add-on workload: a controller needs a handful, and the capacity
proof packs every pod, so a count in the millions would take it hours."""

FALCO_DRIVERS: dict[str, frozenset[OsFamily]] = {
    "modern_ebpf": frozenset(OsFamily),
    "auto": frozenset(
        OsFamily
    ),  # modern_ebpf first wherever the kernel has it, as AL2023's and Bottlerocket's do
    "kmod": frozenset({OsFamily.AL2023}),
}
"""Falco 9's driver kinds and the node OS families that can load each."""


def value_issues(config: StackConfig) -> list[ConfigIssue]:
    """Every rule above, for every add-on the stack installs."""
    issues: list[ConfigIssue] = []
    for spec, options in _addons(config.addons):
        values = without_nulls(options.values)
        issues += _secret_issues(spec, options, config)
        issues += _pod_field_issues(spec, values)
        issues += _storage_class_issues(spec, values)
    issues += _falco_issues(config)
    issues += _storage_option_issues(config)
    return issues


def _addons(addons: AddonsConfig) -> Iterator[tuple[AddonSpec | ManagedAddonSpec, ValuesOverrides]]:
    for spec in addons.enabled():
        yield spec, addons.options_for(spec)
    for managed in MANAGED_ADDONS:
        yield managed, addons.options_for(managed)


def _at(spec: AddonSpec | ManagedAddonSpec, *path: str) -> str:
    return config_path("addons", spec.key, "values", ".".join(path))


def _secret_paths(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], DeployTime]]:
    if isinstance(tree, DeployTime) and tree.secret:
        yield path, tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from _secret_paths(value, (*path, str(key)))


def _secret_issues(
    spec: AddonSpec | ManagedAddonSpec, options: ValuesOverrides, config: StackConfig
) -> list[ConfigIssue]:
    if not isinstance(spec, AddonSpec) or not spec.secrets:
        return []
    context = AddonContext(pools=(), cluster_name=config.cluster.name, region="", options=options)
    issues = []
    for path, secret in _secret_paths(spec.values(context)):
        if get_path(options.values, path) is None:
            continue
        issues.append(
            ConfigIssue(
                _at(spec, *path),
                "this puts a secret in plain text in the stack file, and from there in Pulumi's state and the "
                "Helm release",
                f"remove it: set it with pulumi config set --secret armful:{secret.secret_config_key}, or leave "
                "that out too and Armful generates one",
            )
        )
    return issues


def _pod_field_issues(spec: AddonSpec | ManagedAddonSpec, values: Mapping[str, Any]) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    checked: set[tuple[str, ...]] = set()
    for workload in spec.workloads:
        keys = workload.keys
        targets = [
            (key_path(workload.path, key), SCHEDULING_FIELDS[field])
            for field, key in keys.scheduling().items()
            if key is not None
        ]
        if keys.replicas is not None:
            path = key_path(workload.path, keys.replicas)
            count = get_path(values, path)
            if isinstance(count, int) and not isinstance(count, bool) and count > MAX_ADDON_REPLICAS:
                issues.append(
                    ConfigIssue(
                        _at(spec, *path),
                        f"{count} replicas of {workload.name} is more than the {MAX_ADDON_REPLICAS} Armful plans "
                        "for one add-on workload",
                        f"give at most {MAX_ADDON_REPLICAS}",
                    )
                )
        resource_paths = [key_path(workload.path, keys.resources)] if keys.resources is not None else []
        resource_paths += [sidecar.resources for sidecar in workload.sidecars]
        targets += [(path, resources_problems) for path in resource_paths]
        for path, check in targets:
            value = get_path(values, path)
            if value is None or path in checked:
                continue
            checked.add(path)
            issues += [
                ConfigIssue(
                    _at(spec, *path, *below), problem, "write it in Kubernetes form, as a pod spec takes it"
                )
                for below, problem in check(value)
            ]
    return issues


def refusal_issues(spec: AddonSpec, values: Mapping[str, Any]) -> list[ConfigIssue]:
    """The chart's own refusals (its templates' ``fail``) that a release's final values meet, each in the
    chart's words: Helm would stop the install with that message."""
    return [
        ConfigIssue(
            _at(spec, *refusal.at),
            f"{spec.chart} {spec.version} refuses these values ({refusal.template}): {refusal.message!r}",
            refusal.fix,
        )
        for refusal in spec.refusals
        if all_hold(refusal.refused_if, values)
    ]


def _storage_class_paths(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            if key == "storageClassName":
                yield (*path, key), value
            else:
                yield from _storage_class_paths(value, (*path, str(key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _storage_class_paths(value, (*path, str(index)))


def _storage_class_issue(path: str, given: Any) -> ConfigIssue:
    return ConfigIssue(
        path,
        f"StorageClass {given!r} is not one Armful creates: Armful creates {ARMFUL_STORAGE_CLASS!r} "
        "(encrypted EBS gp3), and a volume claim naming a class that does not exist stays Pending, so the "
        "release never becomes ready",
        f"use {ARMFUL_STORAGE_CLASS}, or leave the key out",
    )


def _storage_class_issues(spec: AddonSpec | ManagedAddonSpec, values: Mapping[str, Any]) -> list[ConfigIssue]:
    return [
        _storage_class_issue(_at(spec, *path), given)
        for path, given in _storage_class_paths(values)
        if given != ARMFUL_STORAGE_CLASS
    ]


def _storage_option_issues(config: StackConfig) -> list[ConfigIssue]:
    spec = kube_prometheus_stack.SPEC
    options = config.addons.options_for(spec)
    chosen = getattr(options, "storage_class", ARMFUL_STORAGE_CLASS)
    if spec not in config.addons.enabled() or chosen == ARMFUL_STORAGE_CLASS:
        return []
    return [_storage_class_issue(config_path("addons", spec.key, "storageClass"), chosen)]


def _falco_issues(config: StackConfig) -> list[ConfigIssue]:
    spec = falco.SPEC
    if spec not in config.addons.enabled():
        return []
    options = config.addons.options_for(spec)
    kind = get_path(without_nulls(options.values), ("driver", "kind"))
    if kind is None:
        return []
    path = _at(spec, "driver", "kind")
    if kind not in FALCO_DRIVERS:
        return [
            ConfigIssue(
                path,
                f"Falco {falco.CHART_VERSION} has no driver {kind!r}",
                f"use one of {', '.join(FALCO_DRIVERS)} (Armful sets modern_ebpf), or leave the key out",
            )
        ]
    karpenter = config.addons.karpenter
    node_pools = (karpenter.node_pools or []) if karpenter.enabled else []
    unable = [
        f"{pool.name} ({pool.os_family.value})"
        for pool in (config.system_pool, *config.worker_pools, *node_pools)
        if pool.os_family not in FALCO_DRIVERS[kind]
    ]
    if not unable:
        return []
    return [
        ConfigIssue(
            path,
            f"Falco's {kind} driver cannot load on {', '.join(unable)}: Bottlerocket's kernel lockdown refuses "
            "out-of-tree kernel modules, so Falco would crash-loop on every node of those pools",
            "use modern_ebpf (Armful's choice, which needs no kernel module), or leave the key out",
        )
    ]
