"""Where the user's own workloads land, what they need to get there, and when no pool can run them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from example_stacks import stack_file_config

from armful.cli.main import main
from armful.core.arch import Arch
from armful.planning.plan import Plan, build_plan
from armful.planning.stack_config import parse_stack_config, strip_namespace

AMD64_ONLY = "registry.example.com/billing/legacy-billing:4.2.1"


def plan_for(stack: str, workloads: list[dict[str, Any]], preferred: str | None = None) -> Plan:
    raw = strip_namespace(stack_file_config(stack))
    raw["workloads"] = workloads
    if preferred:
        raw["preferredArch"] = preferred
    return build_plan(stack, parse_stack_config(raw), region="us-east-1")


def test_mixed_sends_an_x86_only_app_to_the_x86_pool_with_the_values_to_get_there() -> None:
    plan = plan_for("mixed", [{"name": "billing", "images": [AMD64_ONLY], "arches": ["amd64"]}])
    (workload,) = plan.workloads
    assert workload.pools == ("x86-legacy",)
    assert workload.placement is not None
    assert workload.placement.to_json() == {
        "nodeSelector": {"kubernetes.io/arch": "amd64"},
        "tolerations": [
            {"key": "kubernetes.io/arch", "operator": "Equal", "value": "amd64", "effect": "NoSchedule"}
        ],
    }
    assert [(f.level.value, f.code) for f in plan.findings] == [("warning", "other-arch")]


def test_mixed_preferring_x86_sends_a_multi_arch_app_to_x86() -> None:
    plan = plan_for(
        "mixed", [{"name": "web", "images": ["web:1"], "arches": ["amd64", "arm64"]}], preferred="amd64"
    )
    (workload,) = plan.workloads
    assert workload.pools == ("x86-legacy",)
    assert not plan.findings


@pytest.mark.parametrize("stack", ["all-arm", "arm-workers"])
def test_an_image_without_arm64_has_no_worker_pool_in_an_arm_topology(stack: str) -> None:
    plan = plan_for(stack, [{"name": "billing", "images": ["web:1", AMD64_ONLY], "arches": ["amd64"]}])
    (error,) = [f for f in plan.findings if f.level.value == "error"]
    assert error.code == "wrong-arch" and AMD64_ONLY in error.message and stack in error.message
    assert plan.workloads[0].pools == ()


def test_unknown_arches_are_a_warning_that_says_how_to_find_out() -> None:
    plan = plan_for("all-arm", [{"name": "web", "images": ["web:1"]}])
    assert [(f.level.value, f.code) for f in plan.findings] == [("warning", "arch-unknown")]
    assert "readiness" in plan.findings[0].message


def test_plan_exits_non_zero_and_names_the_image_in_all_arm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy.deepcopy(stack_file_config("all-arm"))
    config["armful:workloads"] = [{"name": "billing", "images": [AMD64_ONLY], "arches": ["amd64"]}]
    path = tmp_path / "Pulumi.all-arm-x86-app.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    status = main(["plan", "--stack-file", str(path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "error: [wrong-arch]" in out and AMD64_ONLY in out

    status = main(["plan", "--stack-file", str(path), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [f["code"] for f in document["findings"] if f["level"] == "error"] == ["wrong-arch"]
    assert document["workloads"] == [
        {
            "name": "billing",
            "images": [AMD64_ONLY],
            "arches": ["amd64"],
            "pools": [],
            "nodeSelector": None,
            "tolerations": None,
        }
    ]


def test_apps_are_not_told_to_tolerate_pools_the_user_tainted() -> None:
    """arm-workers' batch-arm-spot pool is tainted example.com/spot: ordinary apps stay off it."""
    plan = plan_for("arm-workers", [{"name": "web", "images": ["web:1"], "arches": ["arm64"]}])
    (workload,) = plan.workloads
    assert workload.pools == ("general-arm",)
    assert workload.placement is not None and workload.placement.tolerations == []
    assert not plan.findings


def test_when_every_pool_of_the_arch_is_tainted_the_app_opts_in_to_one_explicitly() -> None:
    raw = strip_namespace(stack_file_config("arm-workers"))
    raw["workerPools"] = [raw["workerPools"][1]]  # only the spot pool, tainted example.com/spot
    raw["workloads"] = [{"name": "web", "images": ["web:1"], "arches": ["arm64"]}]
    plan = build_plan("arm-workers", parse_stack_config(raw), region="us-west-2")
    (workload,) = plan.workloads
    assert workload.pools == ("batch-arm-spot",)
    assert workload.placement is not None
    assert workload.placement.node_selector == {"node.armful.dev/pool": "batch-arm-spot"}
    assert [(f.level.value, f.code) for f in plan.findings] == [("warning", "opt-in-pool")]


def test_registry_platforms_win_and_declared_arches_stand_in_only_for_unread_images() -> None:
    workloads = [{"name": "api", "images": ["api:1", "sidecar:1"], "arches": ["amd64", "arm64"]}]
    raw = strip_namespace(stack_file_config("all-arm"))
    raw["workloads"] = workloads
    config = parse_stack_config(raw)
    # api:1 was read as amd64-only; sidecar:1 was not read: the declared arches stand in for it.
    plan = build_plan("all-arm", config, region="eu-west-1", image_arches={"api:1": frozenset({Arch.AMD64})})
    (error,) = plan.findings
    assert error.code == "wrong-arch" and "api:1" in error.message
