"""The example stacks (and one with every optional flow on) planned and rendered from the real pinned charts,
once per session, for the network policy proofs. Skips, naming the folder, without the chart archives."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS, stack_file_config
from render.test_real_charts import SDK_REASON, chart_archives

from armful.planning.plan import Plan, build_plan
from armful.planning.releases import render_placeholders
from armful.planning.stack_config import stack_config_from_pulumi

EVERY_OPTION = "arm-workers+every-optional-flow"
"""arm-workers with falcosidekick, the collector as an agent exporting to an OTLP backend."""
OPTIONS = {
    "falco": {"sidekick": True},
    "openTelemetryCollector": {
        "mode": "agent",
        "tracesExporter": "otlp",
        "otlpEndpoint": "tempo.tracing:4317",
    },
}


@dataclass(frozen=True)
class RenderedStack:
    name: str
    plan: Plan
    manifests: dict[str, list[dict[str, Any]]]
    """Every object each release renders, by release."""

    def fresh_manifests(self) -> dict[str, list[dict[str, Any]]]:
        return copy.deepcopy(self.manifests)


def stack_plan(stack: str) -> Plan:
    base = EXAMPLE_STACKS[0] if stack == EVERY_OPTION else stack
    config = stack_file_config(base)
    if stack == EVERY_OPTION:
        config["armful:addons"] = OPTIONS
    raw = {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
    validated = stack_config_from_pulumi(raw)
    return build_plan(stack, validated.config, validated.region)


_RENDERED: dict[str, RenderedStack] = {}


def rendered_stack(stack: str) -> RenderedStack:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    archives = chart_archives()
    if stack not in _RENDERED:
        from armful.render.helm import render_manifests

        # Planned under the suite's pinned calendar (tests/conftest.py), as every test is.
        plan = stack_plan(stack)
        manifests = {}
        for release in plan.releases:
            spec = release.spec
            manifests[spec.release] = [
                manifest.body
                for manifest in render_manifests(
                    archives / f"{spec.chart}-{spec.version}.tgz",
                    spec.version,
                    None,
                    render_placeholders(release.values),
                    spec.release,
                    spec.namespace,
                )
            ]
        _RENDERED[stack] = RenderedStack(stack, plan, manifests)
    return _RENDERED[stack]
