"""Example stacks with add-on overrides, planned as ``plan`` plans them, and the data an add-on declares
about what its chart's values turn on (conditions, image keys), walked for the tests that hold it to the
pinned charts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from example_stacks import stack_file_config

from armful.addons.spec import AddonSpec
from armful.core.arch import Arch
from armful.core.values_tree import deep_merge
from armful.placement.workloads import AllOf, AnyOf, Condition, ImageKeys, Not, Switch
from armful.planning.plan import Plan, build_plan
from armful.planning.stack_config import parse_stack_config, strip_namespace


def plan_with(
    stack: str,
    addons: Mapping[str, Any],
    image_arches: Mapping[str, frozenset[Arch]] | None = None,
) -> Plan:
    """The example stack with ``addons`` merged over its ``armful:addons``; raises StackConfigError."""
    raw = strip_namespace(stack_file_config(stack))
    raw["addons"] = deep_merge(raw.get("addons") or {}, addons)
    return build_plan(stack, parse_stack_config(raw), region="us-west-2", image_arches=image_arches)


def overrides(key: str, values: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    """``armful:addons`` for one add-on: its values overrides and options."""
    return {key: {"values": dict(values), **options}}


def conditions_of(spec: AddonSpec) -> Iterator[tuple[str, Condition]]:
    """Every condition the add-on declares, with what it decides (for messages)."""
    for workload in spec.workloads:
        for condition in workload.enabled_if:
            yield f"workload {workload.name}", condition
        for image in workload.images:
            for condition in image.enabled_if:
                yield f"image {image.ref}", condition
            if isinstance(image.keys, ImageKeys) and image.keys.tag_suffix is not None:
                yield f"tag suffix of {image.ref}", image.keys.tag_suffix[0]
        for sidecar in workload.sidecars:
            for condition in sidecar.enabled_if:
                yield f"sidecar of {workload.name}", condition
    for undeclared in spec.undeclared:
        for condition in undeclared.enabled_if:
            yield undeclared.what, condition
    for refusal in spec.refusals:
        for condition in refusal.refused_if:
            yield f"refusal {refusal.message!r}", condition


def satisfying(conditions: tuple[Condition, ...]) -> dict[str, Any]:
    """Values that make every condition hold: each switch set to a value it takes as on (or off, under a
    Not); an AnyOf by its first alternative."""
    return _each(conditions, True)


def _each(conditions: tuple[Condition, ...], holds: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for condition in conditions:
        values = deep_merge(values, _satisfying(condition, holds))
    return values


def _satisfying(condition: Condition, holds: bool) -> dict[str, Any]:
    if isinstance(condition, Not):
        return _satisfying(condition.condition, not holds)
    if isinstance(condition, AllOf):
        return _each(condition.conditions, True) if holds else _satisfying(condition.conditions[0], False)
    if isinstance(condition, AnyOf):
        return _satisfying(condition.conditions[0], True) if holds else _each(condition.conditions, False)
    return _nested(condition.path, _switch_value(condition, holds))


def _switch_value(switch: Switch, holds: bool) -> Any:
    if switch.when is True:
        return holds
    if isinstance(switch.when, frozenset):
        return sorted(switch.when)[0] if holds else "armful-test-none-of-them"
    if holds:
        return switch.when
    return True if switch.when is False else None


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    tree: Any = value
    for part in reversed(path):
        tree = {part: tree}
    return tree
