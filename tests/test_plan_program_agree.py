"""``plan`` and the stack program agree on any stack file: random mutations of the example stacks go to
both, and both accept, or both refuse with the same message, or both find the same errors in the plan.
Neither ever raises anything but Armful's own errors (``StackConfigError`` from ``plan``, a ``RunError``
that is one from the program); ``stack_variants`` lets anything else through to fail the test.

Bounded for the suite's sake (40 examples, fixed seed: the same stacks every run, about 20 s).
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stack_variants import example_config, plan_outcome, program_outcome, write_stack_file

TRICKY_TEXT = [
    "",
    " ",
    "0",
    "1.30",
    "1.31",
    "1.35",
    "v1.35",
    "{",
    "[1,",
    "{}",
    "[]",
    '{"name": "x"}',
    "yes",
    "on",
    "null",
    "true",
    "-1",
    "0.0.0.0/0",
    "0.0.0.0/1",
    "203.0.113.5/24",
    "m7g.huge",
    "m7g.large",
    "c7i.large",
    "spot",
    "SPOT",
    "Bottlerocket",
    "arm64",
    "amd64",
    "mixed",
    "all-arm",
    "us-west-9",
    "us-east-1",
    "aws:tag",
    "gp2",
    "kmod",
    "lots",
    "250m",
    "1Gi",
    "Exists",
    "NoSchedule",
    "CriticalAddonsOnly",
    "kubernetes.io/arch",
    "Example.com/x",
    "a" * 70,
    "café",
    "vpc-0123456789abcdef0",
    "subnet-0a1b2c3d4e5f60001",
    "arn:aws:iam::111122223333:role/platform-admin",
]
SCALARS = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.integers(min_value=-2, max_value=60),
    st.sampled_from([1.3, 2.5, 0.5, 10**20]),
    st.booleans(),
    st.none(),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["name", "key", "value", "x", "enabled", "values"]), SCALARS, max_size=2),
)


ADDONS = ["metricsServer", "kyverno", "falco", "kubePrometheusStack", "certManager", "coredns", "fluentBit"]
# Values keys where Armful places and sizes pods, and others the rules read.
VALUE_KEYS = [
    "nodeSelector",
    "tolerations",
    "affinity",
    "resources",
    "replicas",
    "replicaCount",
    "priorityClassName",
    "topologySpreadConstraints",
    "driver",
    "grafana",
    "admissionController",
    "storageClassName",
]
VALUE_SHAPES = st.one_of(
    VALUES,
    st.just({"kind": "kmod"}),
    st.just({"adminPassword": "x"}),
    st.just([{"key": "a", "operator": "Exists", "value": "b"}]),
    st.just({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}),
    st.just({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "x"}}),
    st.just({"requests": {"cpu": "2", "memory": True}, "limits": {"cpu": "1"}}),
    st.just([{"maxSkew": "x", "topologyKey": 1, "whenUnsatisfiable": "DoNotSchedule"}]),
    st.just({"replicas": "3"}),
)


def _slots(tree: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in the tree, the top level's keys included."""
    found: list[tuple[Any, Any]] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        entries = (
            node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        )
        for key, value in entries:
            found.append((node, key))
            pending.append(value)
    return found


@st.composite
def mutated_stacks(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    stack = draw(st.sampled_from(EXAMPLE_STACKS))
    config = example_config(stack)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        slots = _slots(config)
        container, key = draw(st.sampled_from(slots))
        operation = draw(
            st.sampled_from(["replace", "replace", "delete", "duplicate", "unknown-key", "as-json", "values"])
        )
        if operation == "values":
            addons = config.setdefault("armful:addons", {})
            if isinstance(addons, dict):
                options = addons.setdefault(draw(st.sampled_from(ADDONS)), {})
                if isinstance(options, dict):
                    options.setdefault("values", {})
                    if isinstance(options["values"], dict):
                        options["values"][draw(st.sampled_from(VALUE_KEYS))] = draw(VALUE_SHAPES)
        elif operation == "replace":
            container[key] = draw(VALUES)
        elif operation == "delete":
            del container[key]
        elif operation == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif operation == "unknown-key" and isinstance(container[key], dict):
            container[key]["surprise"] = draw(SCALARS)
        elif operation == "as-json" and container is config and isinstance(config[key], dict | list):
            config[key] = json.dumps(config[key])
    return stack, config


def _with(stack: str, key: str, value: Any) -> tuple[str, dict[str, Any]]:
    config = example_config(stack)
    config[key] = value
    return stack, config


def _stranded_coredns() -> tuple[str, dict[str, Any]]:
    return _with(
        "all-arm", "armful:addons", {"coredns": {"values": {"nodeSelector": {"example.com/x": "y"}}}}
    )


def _system_pool_too_small() -> tuple[str, dict[str, Any]]:
    stack, config = _with("arm-workers", "armful:addons", {})
    config["armful:systemPool"] = {**config["armful:systemPool"], "minSize": 1, "desiredSize": 1}
    return stack, config


# The random mutations rarely reach a plan with error findings; these make sure both sides meet one.
@example(_stranded_coredns())
@example(_system_pool_too_small())
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_stacks())
def test_plan_and_the_program_agree_on_any_stack_file(case: tuple[str, dict[str, Any]]) -> None:
    stack, config = case
    with tempfile.TemporaryDirectory() as folder:
        planned = plan_outcome(write_stack_file(Path(folder), stack, config))
    ran = program_outcome(stack, config).outcome
    assert (planned.kind, planned.message, planned.findings) == (ran.kind, ran.message, ran.findings)
    if ran.kind == "config":
        assert ran.message.startswith("Armful stack config has ")


@pytest.mark.parametrize("case", [_stranded_coredns, _system_pool_too_small], ids=["stranded", "capacity"])
def test_the_explicit_cases_do_end_in_plan_findings(case: Callable[[], tuple[str, dict[str, Any]]]) -> None:
    """The @example cases above are what they claim: plans with error findings, not config refusals."""
    stack, config = case()
    with tempfile.TemporaryDirectory() as folder:
        assert plan_outcome(write_stack_file(Path(folder), stack, config)).kind == "findings"
