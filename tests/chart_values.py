"""The pinned charts' default values, and whether a values tree sets only keys a chart reads (design §3).

The defaults live outside the repository (``../shared/charts``, or ARMFUL_CHARTS_DIR); where they are
absent a test that needs them skips and names the folder it looked for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.addons.context import AddonContext
from components.addons.spec import AddonOptions, AddonSpec
from components.core.stack_plan import plan_stack
from components.core.values_tree import deep_merge, leaf_paths

# Maps whose contents are Kubernetes objects a chart passes through whole (toYaml): their keys are
# Kubernetes', not the chart's. Anything else free-form is declared per add-on in free_form_paths.
KUBERNETES_OBJECT_KEYS = frozenset({"nodeSelector", "resources", "podResources", "matchLabels", "labels"})


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
    return any(
        path[index] in KUBERNETES_OBJECT_KEYS and has_path(defaults, path[: index + 1])
        for index in range(len(path) - 1)
    )


def unknown_paths(spec: AddonSpec, defaults: Mapping[str, Any], tree: Mapping[str, Any]) -> list[str]:
    return [
        ".".join(path)
        for path in leaf_paths(tree)
        if not has_path(defaults, path)
        and not is_free_form(spec, path)
        and not under_kubernetes_object(defaults, path)
    ]


def placement_key_paths(spec: AddonSpec) -> Iterator[tuple[str, tuple[str, ...]]]:
    for workload in spec.workloads:
        keys = workload.keys
        for key in (
            keys.node_selector,
            keys.tolerations,
            keys.affinity,
            keys.resources,
            keys.replicas,
            keys.priority_class,
            keys.topology_spread,
        ):
            if key is not None:
                yield workload.name, (*workload.path, key)


def context_for(
    spec: AddonSpec, options: AddonOptions | None = None, stack: str = "arm-workers"
) -> AddonContext:
    plan = plan_stack(stack=stack)
    return AddonContext(
        topology=plan.topology,
        pools=plan.pools,
        cluster_name=plan.config.cluster.name,
        region=plan.region,
        options=options if options is not None else spec.options(),
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
