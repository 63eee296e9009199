"""The pinned charts' default values, and whether a values tree sets only keys a chart reads (design §3).

The defaults live outside the repository (``../shared/charts``, or ARMFUL_CHARTS_DIR); where they are
absent a test that needs them skips and names the folder it looked for.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from armful.addons.context import AddonContext
from armful.addons.spec import AddonOptions, AddonSpec
from armful.core.values_tree import deep_merge, get_path, leaf_paths
from armful.placement.workloads import key_path
from armful.planning.stack_plan import plan_stack

# Maps whose contents are Kubernetes objects a chart passes through whole (toYaml): their keys are
# Kubernetes', not the chart's. Anything else free-form is declared per add-on in free_form_paths.
KUBERNETES_OBJECT_KEYS = frozenset(
    {"nodeSelector", "resources", "podResources", "matchLabels", "labels"}
    | {"securityContext", "podSecurityContext", "containerSecurityContext"}
)


def charts_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "charts"
    return Path(os.environ.get("ARMFUL_CHARTS_DIR", default))


def chart_folder(name: str) -> Path:
    folder = charts_dir() / name
    if not (folder / "values.yaml").is_file():
        pytest.skip(f"pinned chart defaults not found: {folder} (set ARMFUL_CHARTS_DIR to the charts folder)")
    return folder


def read_values(name: str) -> dict[str, Any]:
    return yaml.safe_load((chart_folder(name) / "values.yaml").read_text()) or {}


def app_version(name: str) -> str:
    return str(yaml.safe_load((chart_folder(name) / "Chart.yaml").read_text())["appVersion"])


def values_schema(spec: AddonSpec) -> dict[str, Any] | None:
    path = chart_folder(spec.chart_dir) / "values.schema.json"
    return json.loads(path.read_text()) if path.is_file() else None


def chart_defaults(spec: AddonSpec) -> dict[str, Any]:
    """The parent's defaults, each subchart's own defaults under its name (the parent's values win)."""
    defaults = read_values(spec.chart_dir)
    for name, folder in spec.subcharts.items():
        defaults[name] = deep_merge(read_values(folder), defaults.get(name) or {})
    return defaults


def has_path(tree: Any, path: tuple[str, ...]) -> bool:
    """The key exists in the chart's values, even with a null value (``clusterName:``)."""
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


def is_free_form(spec: AddonSpec, path: tuple[str, ...]) -> bool:
    return any(path[: len(free.split("."))] == tuple(free.split(".")) for free in spec.free_form_paths)


def under_kubernetes_object(defaults: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Below a key that holds a Kubernetes object in the chart: a map (or nothing) by that name there.

    kyverno's ``crds.migration.resources`` is a list of CRDs, not pod resources: it does not count.
    """
    return any(
        path[index] in KUBERNETES_OBJECT_KEYS
        and has_path(defaults, path[: index + 1])
        and isinstance(get_path(defaults, path[: index + 1]) or {}, Mapping)
        for index in range(len(path) - 1)
    )


def shape_mismatch(defaults: Mapping[str, Any], path: tuple[str, ...], value: Any) -> bool:
    """A map where the chart has a list, or a list where it has a map, at a path both have."""
    default = get_path(defaults, path)
    if default is None or value is None:
        return False
    return isinstance(default, list) != isinstance(value, list) or isinstance(default, Mapping) != isinstance(
        value, Mapping
    )


def unknown_paths(spec: AddonSpec, defaults: Mapping[str, Any], tree: Mapping[str, Any]) -> list[str]:
    """Keys the chart does not read, and keys given the wrong shape (``map`` where it has a list)."""
    problems = []
    for path in leaf_paths(tree):
        if is_free_form(spec, path) or under_kubernetes_object(defaults, path):
            continue
        if not has_path(defaults, path):
            problems.append(".".join(path))
        elif shape_mismatch(defaults, path, get_path(tree, path)):
            problems.append(f"{'.'.join(path)} (wrong shape)")
    for prefix in {path[:index] for path in leaf_paths(tree) for index in range(1, len(path))}:
        if has_path(defaults, prefix) and isinstance(get_path(defaults, prefix), list):
            problems.append(f"{'.'.join(prefix)} (a list in the chart, a map here)")
    return sorted(set(problems))


def placement_key_paths(spec: AddonSpec) -> Iterator[tuple[str, tuple[str, ...]]]:
    for workload in spec.workloads:
        for field in dataclasses.fields(workload.keys):
            key = getattr(workload.keys, field.name)
            if key is not None:
                yield workload.name, key_path(workload.path, key)


def context_for(
    spec: AddonSpec, options: AddonOptions | None = None, stack: str = "arm-workers"
) -> AddonContext:
    plan = plan_stack(stack=stack)
    return AddonContext(
        pools=plan.pools,
        cluster_name=plan.config.cluster.name,
        region=plan.region,
        options=options if options is not None else spec.options(),
        enabled_addons=tuple(plan.config.addons.enabled()),
    )


def schema_errors(spec: AddonSpec, values: Mapping[str, Any]) -> list[str]:
    """What the chart's schema refuses in its defaults merged with these values, as Helm validates them.

    Helm's JSON Schema library defaults to draft 2020-12 (the charts use ``$defs``).
    """
    schema = values_schema(spec)
    if schema is None:
        pytest.skip(f"{spec.chart_dir} ships no values.schema.json")
    document = deep_merge(chart_defaults(spec), values)
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(document)]
