"""What a person reads first: the verdict line, the cluster and the network ``pulumi up`` builds."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from example_stacks import STACKS_DIR

from armful.cli.main import main


def plan_output(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["plan", *argv])
    return status, capsys.readouterr().out


def stack_with(tmp_path: Path, stack: str, change: Any) -> str:
    document = yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())
    change(document["config"])
    path = tmp_path / f"Pulumi.{stack}-changed.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_a_clean_stack_says_ready_first(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = plan_output(capsys, "--stack", "arm-workers")
    assert status == 0
    assert out.splitlines()[0] == (
        "READY to deploy: 0 errors, 0 warnings; 3 pools, 9 Helm releases, 5 EKS add-ons, 30 of 30 add-on "
        "workloads placed, 1 of 1 of yours, tightest headroom 15% (system)"
    )
    assert "Findings\n  none: every pod passes the scheduler's filters" in out


def test_warnings_alone_are_still_ready(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = plan_output(capsys, "--stack", "mixed")
    assert status == 0
    assert out.startswith("READY to deploy: 0 errors, 1 warning;")


def _strand_coredns(config: dict[str, Any]) -> None:
    config["armful:addons"] = {"coredns": {"values": {"nodeSelector": {"example.com/nowhere": "x"}}}}


def _shrink_system_pool(config: dict[str, Any]) -> None:
    config["armful:systemPool"]["minSize"] = 1


def _node_agent_misses_a_pool(config: dict[str, Any]) -> None:
    config["armful:addons"] = {"fluentBit": {"values": {"tolerations": []}}}


def _controller_on_workers(config: dict[str, Any]) -> None:
    config["armful:addons"] = {
        "metricsServer": {"values": {"nodeSelector": None, "tolerations": [{"operator": "Exists"}]}}
    }


def _amd64_only_app(config: dict[str, Any]) -> None:
    config["armful:workloads"] = [{"name": "billing", "images": ["billing:1"], "arches": ["amd64"]}]


@pytest.mark.parametrize(
    ("change", "codes"),
    [
        (_strand_coredns, "stranded"),
        (_shrink_system_pool, "insufficient-capacity, single-node-system-pool"),
        (_node_agent_misses_a_pool, "coverage-gap"),
        (_controller_on_workers, "off-system"),
        (_amd64_only_app, "wrong-arch"),
    ],
    ids=["stranded", "capacity", "coverage-gap", "off-system", "wrong-arch"],
)
def test_a_stack_with_errors_says_not_ready_and_why_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: Any, codes: str
) -> None:
    status, out = plan_output(capsys, "--stack-file", stack_with(tmp_path, "all-arm", change))
    assert status == 1
    first = out.splitlines()[0]
    assert first.startswith(f"NOT READY: {codes}. "), first
    document = json.loads(
        plan_output(capsys, "--stack-file", stack_with(tmp_path, "all-arm", change), "--format", "json")[1]
    )
    assert document["verdict"]["ready"] is False
    assert document["verdict"]["error_codes"] == codes.split(", ")


def test_json_carries_the_cluster_and_a_new_network(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(plan_output(capsys, "--stack", "arm-workers", "--format", "json")[1])
    assert document["cluster"] == {
        "name": "shop-arm-workers",
        "region": "us-west-2",
        "kubernetes_version": "1.35",
        "endpoint": {"private": True, "public_access_cidrs": ["203.0.113.0/24"]},
    }
    network = document["network"]
    assert network["creates_vpc"] is True and network["cidr"] == "10.20.0.0/16"
    assert network["nat_gateways"] == 3
    # Eighths of the /16 for the private subnets; the last eighth cut in eight for the public ones.
    assert network["subnets"][1] == {"zone": 2, "private": "10.20.32.0/19", "public": "10.20.228.0/22"}


def test_json_carries_an_existing_network_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(plan_output(capsys, "--stack", "mixed", "--format", "json")[1])
    given = yaml.safe_load((STACKS_DIR / "Pulumi.mixed.yaml").read_text())["config"]["armful:network"]
    network = {key: value for key, value in document["network"].items() if key != "network_policies"}
    assert network == {
        "creates_vpc": False,
        "vpc_id": given["vpcId"],
        "private_subnet_ids": given["privateSubnetIds"],
        "public_subnet_ids": given["publicSubnetIds"],
    }


def test_one_nat_gateway_when_asked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    def single_nat(config: dict[str, Any]) -> None:
        config["armful:network"] = {**copy.deepcopy(config["armful:network"]), "singleNatGateway": True}

    status, out = plan_output(capsys, "--stack-file", stack_with(tmp_path, "arm-workers", single_nat))
    assert status == 0
    assert "one NAT gateway for all zones" in out


def test_a_render_that_could_not_load_its_charts_is_not_proven(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("helm_python", reason="helm-python-sdk is not installed (requirements-pins.txt)")
    status, out = plan_output(capsys, "--stack", "all-arm", "--render", "--charts-from", str(tmp_path))
    assert status == 3
    assert out.splitlines()[0].startswith("NOT PROVEN: 0 of 10 charts rendered. 0 errors")
    status, out = plan_output(
        capsys, "--stack", "all-arm", "--render", "--charts-from", str(tmp_path), "--format", "json"
    )
    assert json.loads(out)["verdict"]["ready"] is False
