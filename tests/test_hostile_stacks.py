"""One stack-file mistake per rule, through ``armful plan`` and through the stack program under mocks.

For each: ``plan`` exits 2 with the error on stderr, naming the field, the rule in words and the fix;
the program raises a ``pulumi.RunError`` (so ``pulumi up`` prints the message alone) with the very same
message, having registered nothing. Rules about the file itself (bytes, YAML) are ``plan``'s alone: the
program never sees the file, Pulumi's CLI reads it (tests/core/test_safe_yaml.py).
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi_harness import generated_password, is_secret, reveal, run_program
from stack_variants import (
    GRAFANA_KEY,
    PROGRAM,
    example_config,
    program_outcome,
    pulumi_view,
    write_stack_file,
)

from armful.cli.main import main
from armful.core.errors import StackConfigError

Change = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: Any) -> Change:
    def change(config: dict[str, Any]) -> None:
        node: Any = config
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[path[-1]] = value

    return change


def _values(addon: str, values: dict[str, Any]) -> Change:
    return _set("armful:addons", addon, "values", value=values)


def _append_workload_copy(config: dict[str, Any]) -> None:
    config["armful:workloads"].append(dict(config["armful:workloads"][0]))


def _plain_password(config: dict[str, Any]) -> None:
    config[GRAFANA_KEY] = "hunter2hunter2"


TAINT = {"key": "example.com/dedicated", "value": "batch", "effect": "NoSchedule"}
KMOD = {"driver": {"kind": "kmod"}}
IO2_CLAIM = {
    "prometheus": {
        "prometheusSpec": {"storageSpec": {"volumeClaimTemplate": {"spec": {"storageClassName": "io2"}}}}
    }
}
BAD_AFFINITY = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "x"}}}

# id: (stack, change, the path the issue names, words of the message, words it must not hold)
RULES: dict[str, tuple[str, Change, str, list[str], list[str]]] = {
    "label-key-kubernetes-refuses": (
        "arm-workers",
        _set("armful:workerPools", 1, "labels", value={"Example.com/team": "a"}),
        "armful:workerPools[1].labels",
        ["not a DNS subdomain", "Fix: "],
        [],
    ),
    "label-value-kubernetes-refuses": (
        "arm-workers",
        _set("armful:workerPools", 1, "labels", value={"example.com/team": "a b"}),
        "armful:workerPools[1].labels",
        ["'a b'", "letters, digits"],
        [],
    ),
    "taint-key-invalid": (
        "arm-workers",
        _set("armful:workerPools", 1, "taints", value=[{"key": "bad key!", "value": "x"}]),
        "armful:workerPools[1].taints[0]",
        ["taint key 'bad key!'"],
        [],
    ),
    "taint-value-invalid": (
        "arm-workers",
        _set("armful:workerPools", 1, "taints", value=[{"key": "example.com/x", "value": "a/b"}]),
        "armful:workerPools[1].taints[0]",
        ["'a/b'"],
        [],
    ),
    "taint-duplicated": (
        "arm-workers",
        _set("armful:workerPools", 1, "taints", value=[TAINT, {**TAINT, "value": "other"}]),
        "armful:workerPools[1].taints",
        ["repeats taints[0]", "one per key and effect"],
        [],
    ),
    "more-taints-than-eks-takes": (
        "arm-workers",
        _set("armful:systemPool", "taints", value=[{"key": f"example.com/t{i}"} for i in range(50)]),
        "armful:systemPool.taints",
        ["50 taints are given and Armful adds 1", "at most 50"],
        [],
    ),
    "admin-arn-duplicated": (
        "arm-workers",
        _set(
            "armful:cluster",
            "adminPrincipalArns",
            value=[
                "arn:aws:iam::111122223333:role/platform-admin",
                "arn:aws:iam::111122223333:role/Platform-Admin",
            ],
        ),
        "armful:cluster.adminPrincipalArns",
        ["repeats adminPrincipalArns[0]", "one access entry per principal"],
        [],
    ),
    "admin-arn-malformed": (
        "arm-workers",
        _set("armful:cluster", "adminPrincipalArns", value=["platform-admin"]),
        "armful:cluster.adminPrincipalArns[0]",
        ["IAM role or user ARN", "arn:aws:iam::111122223333:role/platform-admin"],
        ["^arn", "pattern"],
    ),
    "subnet-duplicated": (
        "mixed",
        _set(
            "armful:network",
            "privateSubnetIds",
            value=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60003"],
        ),
        "armful:network.privateSubnetIds",
        ["repeats privateSubnetIds[0]"],
        [],
    ),
    "subnet-both-private-and-public": (
        "mixed",
        _set("armful:network", "publicSubnetIds", value=["subnet-0a1b2c3d4e5f60002"]),
        "armful:network.publicSubnetIds",
        ["also privateSubnetIds[1]"],
        [],
    ),
    "tag-key-aws-prefix": (
        "arm-workers",
        _set("armful:cluster", "tags", value={"aws:created-by": "me"}),
        "armful:cluster.tags",
        ["'aws:'", "AWS keeps for its own tags"],
        [],
    ),
    "system-pool-size-zero": (
        "arm-workers",
        _set("armful:systemPool", "minSize", value=0),
        "armful:systemPool.minSize",
        ["minSize is 0", "CoreDNS"],
        [],
    ),
    "system-pool-spot": (
        "arm-workers",
        _set("armful:systemPool", "capacityType", value="spot"),
        "armful:systemPool.capacityType",
        ["spot capacity", "on-demand"],
        [],
    ),
    "public-cidrs-cover-the-internet": (
        "arm-workers",
        _set("armful:cluster", "endpoint", value={"publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}),
        "armful:cluster.endpoint.publicAccessCidrs",
        ["covers every IPv4 address", "allowPublicInternet: true"],
        [],
    ),
    "public-cidr-host-bits": (
        "arm-workers",
        _set("armful:cluster", "endpoint", value={"publicAccessCidrs": ["203.0.113.7/24"]}),
        "armful:cluster.endpoint.publicAccessCidrs",
        ["host bits set", "203.0.113.0/24", "203.0.113.7/32"],
        ["not a valid IPv4 network"],
    ),
    "vpc-cidr-host-bits": (
        "arm-workers",
        _set("armful:network", "cidr", value="10.20.3.0/16"),
        "armful:network.cidr",
        ["host bits set", "10.20.0.0/16"],
        [],
    ),
    "grafana-password-in-plain-text": (
        "arm-workers",
        _plain_password,
        GRAFANA_KEY,
        ["plain text", "--secret armful:grafanaAdminPassword"],
        ["hunter2"],
    ),
    "grafana-password-in-values": (
        "arm-workers",
        _values("kubePrometheusStack", {"grafana": {"adminPassword": "hunter2hunter2"}}),
        "armful:addons.kubePrometheusStack.values.grafana.adminPassword",
        ["secret in plain text", "--secret armful:grafanaAdminPassword"],
        ["hunter2"],
    ),
    "falco-kmod-on-bottlerocket": (
        "all-arm",
        _values("falco", KMOD),
        "armful:addons.falco.values.driver.kind",
        ["kmod driver cannot load", "system (Bottlerocket)", "modern_ebpf"],
        [],
    ),
    "falco-driver-unknown": (
        "arm-workers",
        _values("falco", {"driver": {"kind": "ebpf"}}),
        "armful:addons.falco.values.driver.kind",
        ["no driver 'ebpf'"],
        [],
    ),
    "storage-class-armful-does-not-create": (
        "arm-workers",
        _set("armful:addons", "kubePrometheusStack", value={"storageClass": "io2"}),
        "armful:addons.kubePrometheusStack.storageClass",
        ["'io2' is not one Armful creates", "'gp3'"],
        [],
    ),
    "storage-class-in-values": (
        "arm-workers",
        _values("kubePrometheusStack", IO2_CLAIM),
        "armful:addons.kubePrometheusStack.values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec."
        "storageClassName",
        ["'io2' is not one Armful creates"],
        [],
    ),
    "request-not-a-quantity": (
        "arm-workers",
        _set("armful:workloads", 0, "requests", value={"cpu": "lots", "memory": "1Gi"}),
        "armful:workloads[0].requests.cpu",
        ["'lots' is not a CPU quantity"],
        [],
    ),
    "replicas-a-boolean": (
        "arm-workers",
        _set("armful:workloads", 0, "replicas", value=True),
        "armful:workloads[0].replicas",
        ["boolean true, not a number"],
        [],
    ),
    "values-replicas-not-an-integer": (
        "arm-workers",
        _values("kyverno", {"admissionController": {"replicas": "three"}}),
        "armful:addons.kyverno.values.admissionController.replicas",
        ["whole number"],
        [],
    ),
    "values-limit-not-a-quantity": (
        "arm-workers",
        _values("metricsServer", {"resources": {"limits": {"memory": "lots"}}}),
        "armful:addons.metricsServer.values.resources.limits",
        ["'lots' is not a memory quantity"],
        [],
    ),
    "values-request-above-limit": (
        "arm-workers",
        _values("metricsServer", {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}),
        "armful:addons.metricsServer.values.resources.requests.cpu",
        ["above its limit"],
        [],
    ),
    "values-affinity-malformed": (
        "arm-workers",
        _values("metricsServer", BAD_AFFINITY),
        "armful:addons.metricsServer.values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
        ["nodeSelectorTerms"],
        [],
    ),
    "values-toleration-operator": (
        "arm-workers",
        _values("metricsServer", {"tolerations": [{"key": "a", "operator": "Equals"}]}),
        "armful:addons.metricsServer.values.tolerations.0.operator",
        ["'Equals' is not Equal or Exists"],
        [],
    ),
    "instance-size-that-does-not-exist": (
        "arm-workers",
        _set("armful:workerPools", 0, "instanceTypes", value=["m8g.xlarge", "m7g.huge"]),
        "armful:workerPools[0].instanceTypes[1]",
        ["no 'm7g.huge'"],
        [],
    ),
    "region-that-does-not-exist": (
        "arm-workers",
        _set("aws:region", value="us-west-9"),
        "aws:region",
        ["'us-west-9' is not an AWS region", "did you mean us-west-2"],
        [],
    ),
    "more-zones-than-the-region-has": (
        "arm-workers",
        _set("armful:network", "availabilityZones", value=6),
        "armful:network.availabilityZones",
        ["asks for 6 AZs", "us-west-2 has 4"],
        [],
    ),
    "two-workloads-one-name": (
        "arm-workers",
        _append_workload_copy,
        "armful:workloads",
        ["workloads[1] is named 'storefront'"],
        [],
    ),
    "cluster-name-in-words": (
        "arm-workers",
        _set("armful:cluster", "name", value="shop_arm"),
        "armful:cluster.name",
        ["'_' at position 5", "letters, digits and hyphens"],
        ["^[", "pattern"],
    ),
    "pool-name-in-words": (
        "arm-workers",
        _set("armful:workerPools", 0, "name", value="General-Arm"),
        "armful:workerPools[0].name",
        ["'G' is not allowed", "lower-case letters"],
        ["^[", "pattern"],
    ),
    "retention-in-words": (
        "arm-workers",
        _set("armful:addons", "kubePrometheusStack", value={"retention": "15 days"}),
        "armful:addons.kubePrometheusStack.retention",
        ["Prometheus duration", "15d"],
        ["^(", "pattern"],
    ),
    "kubernetes-version-unquoted": (
        "arm-workers",
        _set("armful:cluster", "kubernetesVersion", value=1.3),
        "armful:cluster.kubernetesVersion",
        ["the number 1.3", "quote it"],
        [],
    ),
    "kubernetes-version-support-ended": (
        "arm-workers",
        _set("armful:cluster", "kubernetesVersion", value="1.31"),
        "armful:cluster.kubernetesVersion",
        ["no longer supports Kubernetes '1.31'"],
        ["kubernetes_versions.py"],
    ),
    "label-value-unquoted-boolean": (
        "arm-workers",
        _set("armful:workerPools", 1, "labels", value={"example.com/spot": True}),
        "armful:workerPools[1].labels.example.com/spot",
        ['quote it: "true"'],
        [],
    ),
    "bad-json-in-a-string": (
        "arm-workers",
        _set("armful:cluster", value='{"name": "shop"'),
        "armful:cluster",
        ["starts with '{'", "not valid JSON"],
        [],
    ),
}


@pytest.mark.parametrize(("stack", "change", "path", "words", "absent"), RULES.values(), ids=RULES.keys())
def test_plan_refuses_with_the_field_and_the_rule(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    stack: str,
    change: Change,
    path: str,
    words: list[str],
    absent: list[str],
) -> None:
    config = example_config(stack)
    change(config)
    assert main(["plan", "--stack-file", str(write_stack_file(tmp_path, stack, config))]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = next((line for line in captured.err.splitlines() if line.startswith(f"  - {path}: ")), None)
    assert line is not None, captured.err
    for word in words:
        assert word in line, line
    for word in absent:
        assert word not in captured.err, captured.err
    assert "Fix: " in line


@pytest.mark.parametrize(("stack", "change", "path", "words", "absent"), RULES.values(), ids=RULES.keys())
def test_the_program_refuses_alike_as_a_run_error_registering_nothing(
    tmp_path: Path, stack: str, change: Change, path: str, words: list[str], absent: list[str]
) -> None:
    config = example_config(stack)
    change(config)
    run = program_outcome(stack, config)
    assert run.outcome.kind == "config"
    assert isinstance(run.outcome.error, pulumi.RunError) and isinstance(run.outcome.error, StackConfigError)
    assert f"  - {path}: " in run.outcome.message
    for word in absent:
        assert word not in run.outcome.message, run.outcome.message
    assert run.mocks.registrations == []
    # The same words as plan's: both read the config through one function.
    with pytest.raises(StackConfigError) as planned:
        from armful.planning.stack_plan import plan_stack

        plan_stack(stack_file=write_stack_file(tmp_path, stack, config))
    assert str(planned.value) == run.outcome.message


def test_a_map_written_as_a_json_string_is_read_alike_by_both(tmp_path: Path) -> None:
    """Pulumi hands the program every map as JSON text, so it cannot tell `cluster: '{...}'` from a map;
    plan reads it the same way (as pulumi.Config.get_object does) rather than refuse what would deploy."""
    config = example_config("arm-workers")
    config["armful:cluster"] = json.dumps(config["armful:cluster"])
    assert main(["plan", "--stack-file", str(write_stack_file(tmp_path, "arm-workers", config))]) == 0
    assert program_outcome("arm-workers", config).outcome.kind == "ok"


def test_without_a_grafana_password_plan_passes_and_the_program_generates_one(tmp_path: Path) -> None:
    config = example_config("arm-workers", with_password=False)
    assert main(["plan", "--stack-file", str(write_stack_file(tmp_path, "arm-workers", config))]) == 0
    run = program_outcome("arm-workers", config)
    assert run.outcome.kind == "ok"
    (generated,) = run.mocks.of_type("random:index/randomPassword:RandomPassword")
    assert generated.inputs["length"] >= 32 and generated.inputs["special"] is False
    release = run.mocks.one("kubernetes:helm.sh/v3:Release", "armful-addons-kube-prometheus-stack")
    values = release.inputs["values"]  # a secret within makes Pulumi send the whole map as one
    assert is_secret(values)
    assert reveal(values)["grafana"]["adminPassword"] == generated_password(generated.name)


def test_the_stack_exports_the_grafana_password_as_a_secret_output(monkeypatch: pytest.MonkeyPatch) -> None:
    config, secret_keys = pulumi_view(example_config("arm-workers", with_password=False))
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))
    seen: list[Any] = []

    def program() -> None:
        runpy.run_path(str(PROGRAM))
        # What the stack program itself exported, not a value this test wrapped.
        exported = exports["grafanaAdminPassword"]
        exported.apply(seen.append)
        pulumi.Output.from_input(exported.is_secret()).apply(seen.append)

    run_program(program, config, stack="arm-workers", secret_keys=secret_keys)
    assert seen == [generated_password("armful-grafana-admin-password"), True]


def test_a_given_grafana_password_is_used_and_none_generated() -> None:
    run = program_outcome("arm-workers", example_config("arm-workers"))
    assert run.outcome.kind == "ok"
    assert run.mocks.of_type("random:index/randomPassword:RandomPassword") == []
