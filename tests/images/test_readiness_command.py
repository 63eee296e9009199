"""``python -m armful readiness`` against a real registry, and ``plan`` using what it read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from armful.addons.registry import ADDONS
from armful.cli.main import main

from .images_testkit import Seeded, closed_port

NO_ADDONS = {spec.key: {"enabled": False} for spec in ADDONS}


def write_stack(tmp_path: Path, topology: str, workloads: list[dict[str, Any]]) -> Path:
    """A stack of the given topology whose only images are these workloads' (add-ons off)."""
    arm = {"name": "arm", "instanceTypes": ["m7g.large"]}
    x86 = {"name": "x86", "instanceTypes": ["m7i.large"]}
    config: dict[str, Any] = {
        "aws:region": "eu-west-1",
        "armful:topology": topology,
        "armful:cluster": {
            "name": "readiness",
            "adminPrincipalArns": ["arn:aws:iam::111122223333:role/platform-admin"],
        },
        "armful:systemPool": {
            "name": "system",
            "instanceTypes": ["m7g.large" if topology != "arm-workers" else "m7i.large"],
        },
        "armful:workerPools": [arm, x86] if topology == "mixed" else [arm],
        "armful:addons": NO_ADDONS,
        "armful:workloads": workloads,
    }
    path = tmp_path / f"Pulumi.{topology}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_images_report_their_platforms(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "readiness",
        "--image",
        f"{seeded.host}/multi:v1",
        "--image",
        f"{seeded.host}/single:oci",
        "--format",
        "json",
    )
    assert status == 0
    report = {entry["image"]: entry for entry in json.loads(out)}
    assert report[f"{seeded.host}/multi:v1"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert report[f"{seeded.host}/single:oci"]["platforms"] == ["linux/amd64"]
    assert all(entry["error"] is None and entry["digest"].startswith("sha256:") for entry in report.values())


def test_a_missing_tag_fails_and_is_named(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "readiness", "--image", f"{seeded.host}/multi:v9")
    assert status == 1
    assert f"{seeded.host}/multi:v9" in out and "?" in out


def test_an_amd64_only_image_fails_an_all_arm_stack_and_plan_then_knows(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"{seeded.host}/single:oci"
    # The config claims an arm64 build; the registry says otherwise.
    stack = write_stack(
        tmp_path, "all-arm", [{"name": "api", "images": [image], "arches": ["amd64", "arm64"]}]
    )
    status, out, _ = run(capsys, "readiness", "--stack-file", str(stack), "--format", "json")
    assert status == 1
    (verdict,) = json.loads(out)
    assert verdict["image"] == image and verdict["ok"] is False
    assert verdict["used_by"] == ["workload/api"]

    status, out, _ = run(capsys, "plan", "--stack-file", str(stack), "--format", "json")
    assert status == 1
    errors = [f for f in json.loads(out)["findings"] if f["level"] == "error"]
    assert [f["code"] for f in errors] == ["wrong-arch"] and image in errors[0]["message"]


def test_an_add_on_image_override_without_an_arm64_build_fails_all_arm(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Readiness and plan judge the image the values run, not the one the add-on declares."""
    stack = write_stack(tmp_path, "all-arm", [])
    config = yaml.safe_load(stack.read_text())
    image = {"repository": f"{seeded.host}/single", "tag": "oci"}
    config["config"]["armful:addons"]["metricsServer"] = {"enabled": True, "values": {"image": image}}
    stack.write_text(yaml.safe_dump(config))

    status, out, _ = run(capsys, "plan", "--stack-file", str(stack), "--format", "json")
    assert status == 0, "unread, it is a warning"
    assert [f["code"] for f in json.loads(out)["findings"]] == ["arch-unknown"]

    status, out, _ = run(capsys, "readiness", "--stack-file", str(stack), "--format", "json")
    assert status == 1
    (verdict,) = json.loads(out)
    assert verdict["image"] == f"{seeded.host}/single:oci" and verdict["ok"] is False
    assert verdict["used_by"] == ["metrics-server/metrics-server"]
    assert verdict["pools"] == {"system": False}

    # plan now knows what readiness read: the Graviton system pool cannot run it.
    status, out, _ = run(capsys, "plan", "--stack-file", str(stack), "--format", "json")
    assert status == 1
    errors = [f for f in json.loads(out)["findings"] if f["level"] == "error"]
    assert [f["code"] for f in errors] == ["wrong-arch"]
    assert f"{seeded.host}/single:oci" in errors[0]["message"] and "metrics-server" in errors[0]["message"]


def test_mixed_places_an_amd64_only_image_on_the_x86_pool(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"{seeded.host}/single:oci"
    stack = write_stack(tmp_path, "mixed", [{"name": "legacy", "images": [image]}])
    status, out, _ = run(capsys, "readiness", "--stack-file", str(stack), "--format", "json")
    assert status == 0
    (verdict,) = json.loads(out)
    assert verdict["pools"] == {"x86": True}


def test_without_a_registry_nothing_is_reported_ready(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = f"127.0.0.1:{closed_port()}/app:v1"
    stack = write_stack(tmp_path, "all-arm", [{"name": "api", "images": [image], "arches": ["arm64"]}])
    status, out, err = run(capsys, "readiness", "--stack-file", str(stack), "--format", "json")
    assert status == 1
    (verdict,) = json.loads(out)
    assert verdict["platforms"] == [] and verdict["error"] and verdict["pools"] == {"arm": None}
    assert "No registry could be reached" in err


def test_images_named_next_to_a_stack_are_reported_and_counted(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_image, extra, missing = (
        f"{seeded.host}/multi:v1",
        f"{seeded.host}/single:oci",
        f"{seeded.host}/multi:v9",
    )
    stack = write_stack(tmp_path, "all-arm", [{"name": "api", "images": [stack_image]}])
    argv = ["readiness", "--stack-file", str(stack), "--image", extra, "--image", stack_image]
    status, out, _ = run(capsys, *argv, "--format", "json")
    assert status == 0
    report = {entry["image"]: entry for entry in json.loads(out)}
    assert list(report) == [stack_image, extra]  # the stack's own image once, with its verdict
    assert report[stack_image]["pools"] == {"arm": True}
    assert report[extra] == {
        "image": extra,
        "digest": report[extra]["digest"],
        "platforms": ["linux/amd64"],
        "error": None,
        "used_by": [],
        "pools": None,  # not judged against the stack's pools: nothing in the stack runs it
        "ok": None,
    }

    # An extra image that cannot be read fails the run, in both formats.
    status, out, _ = run(capsys, *argv, "--image", missing, "--format", "json")
    assert status == 1
    entry = next(e for e in json.loads(out) if e["image"] == missing)
    assert entry["pools"] is None and entry["platforms"] == [] and "not found" in entry["error"]
    status, out, _ = run(capsys, *argv, "--image", missing)
    assert status == 1
    tail = out.split("Also asked for with --image (not judged against the stack's pools):\n", 1)[1]
    rows = {line.split()[0]: line.split()[1:3] for line in tail.splitlines()[1:3]}
    assert rows == {extra: ["yes", "NO"], missing: ["?", "?"]}
    assert "Cannot run where the topology needs it" not in out
