"""``python -m armful plan``: the offline plan people read and other tools parse (design §6).

The expected pools below are written out from the example stack files by hand, not computed with
Armful's own code, so a regression in planning shows up here as a wrong table or JSON document.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from example_stacks import ROOT, STACKS_DIR

from armful.cli.main import main

CRITICAL = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}
SPOT = {"key": "example.com/spot", "value": "true", "effect": "NoSchedule"}
AMD64_OPT_IN = {"key": "kubernetes.io/arch", "value": "amd64", "effect": "NoSchedule"}


def _pool(
    name: str,
    role: str,
    arch: str,
    ami_type: str,
    sizes: tuple[int, int, int],
    taints: list[dict[str, str]],
    capacity: str = "ON_DEMAND",
) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "arch": arch,
        "ami_type": ami_type,
        "capacity_type": capacity,
        "sizes": sizes,
        "taints": taints,
    }


# stack → (topology, pools in plan order); sizes are (min, desired, max).
EXPECTED: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "arm-workers": (
        "arm-workers",
        [
            _pool("system", "system", "amd64", "AL2023_x86_64_STANDARD", (3, 3, 6), [CRITICAL]),
            _pool("general-arm", "workers", "arm64", "AL2023_ARM_64_STANDARD", (2, 3, 12), []),
            _pool("batch-arm-spot", "workers", "arm64", "AL2023_ARM_64_STANDARD", (0, 0, 20), [SPOT], "SPOT"),
        ],
    ),
    "all-arm": (
        "all-arm",
        [
            _pool("system", "system", "arm64", "BOTTLEROCKET_ARM_64", (4, 4, 6), [CRITICAL]),
            _pool("general", "workers", "arm64", "BOTTLEROCKET_ARM_64", (3, 3, 15), []),
        ],
    ),
    "mixed": (
        "mixed",
        [
            _pool("system", "system", "arm64", "AL2023_ARM_64_STANDARD", (3, 3, 6), [CRITICAL]),
            _pool("arm", "workers", "arm64", "AL2023_ARM_64_STANDARD", (2, 2, 12), []),
            _pool("x86-legacy", "workers", "amd64", "AL2023_x86_64_STANDARD", (1, 1, 6), [AMD64_OPT_IN]),
        ],
    ),
}

MEMORY_TIER = {"key": "example.com/tier", "value": "memory", "effect": "NoSchedule"}
# stack → its Karpenter NodePools, after the managed pools: (name, arch, capacity types, taints).
KARPENTER_POOLS: dict[str, list[tuple[str, str, list[str], list[dict[str, str]]]]] = {
    "arm-workers": [],
    "all-arm": [
        ("elastic", "arm64", ["spot", "on-demand"], []),
        ("memory", "arm64", ["on-demand"], [MEMORY_TIER]),
    ],
    "mixed": [],
}

# design §6, plus `workloads`: where the user's own workloads land and the values that get them there.
TOP_LEVEL_KEYS = {
    "stack", "topology", "verdict", "cluster", "network", "pools", "releases", "placement", "managed_addons",
    "workloads", "capacity", "elastic_capacity", "findings",
}  # fmt: skip
KARPENTER_POOL_KEYS = {
    "arches", "os_family", "node_class", "capacity_types", "requirements", "instance_types_allowed",
    "smallest_instance_type", "largest_instance_type", "limits", "weight", "ami_alias",
}  # fmt: skip
"""A NodePool's fields besides every field a managed pool has."""
POOL_KEYS = {
    "name",
    "provisioner",
    "role",
    "arch",
    "instance_types",
    "ami_type",
    "capacity_type",
    "min_size",
    "max_size",
    "desired_size",
    "labels",
    "taints",
    # Additions: the versions the node group runs.
    "kubernetes_version",
    "release_version",
    "release_parameter",
    "ami_release",
}
RELEASE_KEYS = {"name", "namespace", "chart", "version", "repository", "values"}
PLACEMENT_KEYS = {
    "release",
    "workload",
    "kind",
    "pools",
    "hook",
    "eks_managed",
    "namespace",
    "replicas",
    "images",
}
FINDING_KEYS = {"level", "code", "message"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["plan", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _pool_rows(table: str) -> dict[str, list[str]]:
    """The rows of the "Node pools" table, by pool name, cells split on the column gaps."""
    lines = table.splitlines()
    start = lines.index("Node pools")
    rows = {}
    for line in lines[start + 3 :]:  # heading, header, rule
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return rows


def _stack_file(tmp_path: Path, name: str, config: dict[str, Any]) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def _example_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.mark.parametrize("stack", EXPECTED)
def test_table_shows_every_pool_with_arch_and_taints(capsys: pytest.CaptureFixture[str], stack: str) -> None:
    status, out, err = _run(capsys, "--stack", stack)
    assert status == 0, err
    assert err == ""
    topology, pools = EXPECTED[stack]
    assert f"topology {topology}" in out
    rows = _pool_rows(out)
    node_pools = KARPENTER_POOLS[stack]
    assert list(rows) == [pool["name"] for pool in pools] + [name for name, *_ in node_pools]
    for name, arch, capacity_types, node_pool_taints in node_pools:
        _name, role, shown_arch, types, node_class, capacity, limits, taints = rows[name]
        assert (role, shown_arch, capacity) == ("workers", arch, ", ".join(capacity_types))
        assert types.startswith("Karpenter: ") and "types within limits" in types
        assert node_class.startswith("EC2NodeClass ") and limits.startswith("up to ")
        assert taints == (
            ", ".join(f"{t['key']}={t['value']}:{t['effect']}" for t in node_pool_taints) or "-"
        )
    for pool in pools:
        _name, role, arch, _types, ami_type, capacity, sizes, taints = rows[pool["name"]]
        assert (role, arch, ami_type, capacity) == (
            pool["role"],
            pool["arch"],
            pool["ami_type"],
            pool["capacity_type"],
        )
        assert sizes == "/".join(map(str, pool["sizes"]))
        shown = [f"{t['key']}={t['value']}:{t['effect']}" for t in pool["taints"]]
        assert taints == (", ".join(shown) or "-")


@pytest.mark.parametrize("stack", EXPECTED)
def test_json_matches_the_contract(capsys: pytest.CaptureFixture[str], stack: str) -> None:
    status, out, err = _run(capsys, "--stack", stack, "--format", "json")
    assert status == 0, err
    document = json.loads(out)
    assert set(document) == TOP_LEVEL_KEYS
    topology, pools = EXPECTED[stack]
    assert document["stack"] == stack
    assert document["topology"] == topology
    node_pools = KARPENTER_POOLS[stack]
    names = [pool["name"] for pool in pools] + [name for name, *_ in node_pools]
    assert [pool["name"] for pool in document["pools"]] == names
    managed = [pool for pool in document["pools"] if pool["provisioner"] == "managed"]
    elastic = [pool for pool in document["pools"] if pool["provisioner"] == "karpenter"]
    for got, (name, arch, capacity_types, taints) in zip(elastic, node_pools, strict=True):
        assert set(got) == POOL_KEYS | KARPENTER_POOL_KEYS
        assert (got["min_size"], got["desired_size"], got["max_size"]) == (0, 0, 0)
        assert (got["name"], got["arches"], got["capacity_types"], got["taints"]) == (
            name,
            [arch],
            capacity_types,
            taints,
        )
        assert {"key": "kubernetes.io/arch", "operator": "In", "values": [arch]} in got["requirements"]
        assert got["labels"]["karpenter.sh/nodepool"] == name
    assert [entry["pool"] for entry in document["elastic_capacity"]] == [name for name, *_ in node_pools]
    for got, want in zip(managed, pools, strict=True):
        assert set(got) == POOL_KEYS
        assert got["provisioner"] == "managed"
        assert got["role"] == want["role"]
        assert got["arch"] == want["arch"]
        assert got["ami_type"] == want["ami_type"]
        assert got["capacity_type"] == want["capacity_type"]
        assert (got["min_size"], got["desired_size"], got["max_size"]) == want["sizes"]
        assert got["taints"] == want["taints"], "taints in Kubernetes form, Armful's first"
        assert got["labels"]["node.armful.dev/pool"] == want["name"]
        assert got["labels"]["node.armful.dev/role"] == want["role"]
        assert got["instance_types"] and all(isinstance(t, str) for t in got["instance_types"])
        # Every example stack runs Kubernetes 1.35 and keeps each node group's AMI release once it has one.
        assert (got["kubernetes_version"], got["ami_release"]) == ("1.35", "pinned")
        assert got["release_parameter"].startswith(
            ("/aws/service/eks/optimized-ami/1.35/", "/aws/service/bottlerocket/")
        )
    for release in document["releases"]:
        assert set(release) == RELEASE_KEYS
        assert isinstance(release["values"], dict)
    for entry in document["placement"]:
        assert set(entry) == PLACEMENT_KEYS
        assert set(entry["pools"]) <= set(names)
        assert entry["images"] and all(isinstance(image, str) for image in entry["images"])
    for finding in document["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["level"] in {"error", "warning"}
    assert not [f for f in document["findings"] if f["level"] == "error"], "exit 0 means no error finding"


def test_json_instance_types_and_user_labels(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "--stack", "arm-workers", "--format", "json")
    pools = {pool["name"]: pool for pool in json.loads(out)["pools"]}
    assert pools["batch-arm-spot"]["instance_types"] == ["c8g.2xlarge", "c7g.2xlarge", "c7gn.2xlarge"]
    assert pools["batch-arm-spot"]["labels"] == {
        "node.armful.dev/pool": "batch-arm-spot",
        "node.armful.dev/role": "workers",
        "example.com/workload": "batch",
    }


def test_stack_file_names_the_stack_after_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _stack_file(tmp_path, "staging", _example_config("mixed"))
    status, out, err = _run(capsys, "--stack-file", str(path), "--format", "json")
    assert status == 0, err
    document = json.loads(out)
    assert document["stack"] == "staging"
    assert document["topology"] == "mixed"


def _bad_min_size(config: dict[str, Any]) -> None:
    config["armful:workerPools"][0]["minSize"] = 30


def _typo(config: dict[str, Any]) -> None:
    config["armful:workerPools"][1]["instanceType"] = config["armful:workerPools"][1].pop("instanceTypes")


def _x86_worker(config: dict[str, Any]) -> None:
    config["armful:workerPools"][0]["instanceTypes"] = ["m7i.xlarge"]


@pytest.mark.parametrize(
    ("break_config", "field"),
    [
        (_bad_min_size, "armful:workerPools[0].minSize"),
        (_typo, "armful:workerPools[1].instanceType"),
        (_x86_worker, "armful:workerPools[0].instanceTypes"),
    ],
    ids=["min-greater-than-max", "typo-key", "x86-worker-in-arm-workers"],
)
@pytest.mark.parametrize("output_format", ["table", "json"])
def test_bad_stack_file_fails_on_stderr_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, break_config: Any, field: str, output_format: str
) -> None:
    config = _example_config("arm-workers")
    break_config(config)
    path = _stack_file(tmp_path, "bad", config)
    status, out, err = _run(capsys, "--stack-file", str(path), "--format", output_format)
    assert status != 0
    assert out == ""
    assert f"{field}: " in err
    assert "Fix: " in err


def test_missing_region(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = _example_config("all-arm")
    del config["aws:region"]
    status, out, err = _run(capsys, "--stack-file", str(_stack_file(tmp_path, "no-region", config)))
    assert status != 0
    assert out == ""
    assert "aws:region" in err
    assert "pulumi config set aws:region" in err


def test_missing_stack_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "Pulumi.nowhere.yaml"
    status, out, err = _run(capsys, "--stack-file", str(missing))
    assert status != 0
    assert out == ""
    assert str(missing) in err
    assert "Fix: " in err


def test_unknown_stack_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "--stack", "no-such-stack")
    assert status != 0
    assert out == ""
    assert "Pulumi.no-such-stack.yaml" in err


def test_invalid_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text("config:\n  armful:topology: [arm-workers\n")
    status, out, err = _run(capsys, "--stack-file", str(path))
    assert status != 0
    assert out == ""
    assert "not valid YAML" in err


def test_stack_and_stack_file_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--stack", "mixed", "--stack-file", str(STACKS_DIR / "Pulumi.mixed.yaml")])
    assert exited.value.code != 0
    assert capsys.readouterr().out == ""


# `python -m armful`, with the calendar pinned as in every other test (conftest's PINNED_TODAY).
MODULE_ENTRY_ON_PINNED_DAY = (
    "import datetime, runpy; from armful.core import kubernetes_versions as k; "
    "k.today = lambda: datetime.date(2026, 11, 29); runpy.run_module('armful', run_name='__main__')"
)


def test_module_entry_point() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MODULE_ENTRY_ON_PINNED_DAY,
            "plan",
            "--stack",
            "arm-workers",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == "arm-workers"
    assert [(pool["name"], pool["arch"]) for pool in document["pools"]] == [
        ("system", "amd64"),
        ("general-arm", "arm64"),
        ("batch-arm-spot", "arm64"),
    ]


def test_stack_names_resolve_in_the_pulumi_project_of_the_current_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "platform"
    (project / "config" / "deep").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: platform\nruntime: python\nstackConfigDir: config\n")
    (project / "config" / "Pulumi.prod.yaml").write_text((STACKS_DIR / "Pulumi.mixed.yaml").read_text())
    monkeypatch.chdir(project / "config" / "deep")  # Pulumi finds its project in a folder above, too
    status, out, _ = _run(capsys, "--stack", "prod", "--format", "json")
    assert status == 0
    assert json.loads(out)["stack"] == "prod"
    status, out, _ = _run(capsys, "--stack", "acme/platform/prod", "--format", "json")
    assert status == 0, "a fully qualified stack name reads the stack's own file"

    monkeypatch.chdir(tmp_path)
    status, out, err = _run(capsys, "--stack", "prod")
    assert status == 2 and out == ""
    assert "no Pulumi project (Pulumi.yaml)" in err and "--stack-file" in err


def test_a_stack_file_that_is_not_utf8_is_a_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "Pulumi.latin.yaml"
    path.write_bytes((STACKS_DIR / "Pulumi.mixed.yaml").read_bytes().replace(b"legacy", b"l\xe9gacy", 1))
    status, out, err = _run(capsys, "--stack-file", str(path))
    assert (status, out) == (2, "")
    assert "is not UTF-8" in err and "save the file as UTF-8" in err
