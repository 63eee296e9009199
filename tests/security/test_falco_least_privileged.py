"""Falco runs least privileged (issue #14): judged on the pinned falco 9.1.0 chart rendered with the planned
values, and against what the chart's own ``driver.modernEbpf.leastPrivileged`` renders."""

from __future__ import annotations

from typing import Any

from rendered_stacks import render_release, rendered_stack

from armful.addons import falco

STACK = "arm-workers"


def falco_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (daemonset,) = [body for body in objects if body["kind"] == "DaemonSet"]
    template: dict[str, Any] = daemonset["spec"]["template"]
    return template


def planned_objects() -> list[dict[str, Any]]:
    return [obj.body for obj in rendered_stack(STACK).of_release(falco.RELEASE)]


def containers(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = pod["spec"]
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


def test_falco_runs_the_modern_ebpf_probe_with_no_privileged_container() -> None:
    pod = falco_pod(planned_objects())
    every = containers(pod)
    assert all(not (c.get("securityContext") or {}).get("privileged") for c in every.values())
    # modern_ebpf is built into Falco: no driver loader, no kernel headers, no /dev mount.
    assert "falco-driver-loader" not in every
    host_paths = {volume["hostPath"]["path"] for volume in pod["spec"]["volumes"] if "hostPath" in volume}
    assert "/dev" not in host_paths and "/sys/module" not in host_paths


def test_falco_adds_exactly_the_capabilities_the_charts_least_privileged_mode_adds() -> None:
    release = next(r for r in rendered_stack(STACK).plan.releases if r.spec.release == falco.RELEASE)
    chart_own = falco_pod(
        render_release(release, {"driver": {"kind": "modern_ebpf", "modernEbpf": {"leastPrivileged": True}}})
    )
    chart_context = containers(chart_own)["falco"]["securityContext"]
    ours = containers(falco_pod(planned_objects()))["falco"]["securityContext"]
    assert sorted(ours["capabilities"]["add"]) == sorted(chart_context["capabilities"]["add"])
    assert set(ours["capabilities"]["add"]) == {"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE"}
    assert "SYS_ADMIN" not in ours["capabilities"]["add"]
    assert ours["allowPrivilegeEscalation"] is False
    assert "NET_RAW" in ours["capabilities"]["drop"]
    # The chart's AppArmor opt-out comes with leastPrivileged, ours included.
    annotation = "container.apparmor.security.beta.kubernetes.io/falco"
    assert chart_own["metadata"]["annotations"][annotation] == "unconfined"
    assert falco_pod(planned_objects())["metadata"]["annotations"][annotation] == "unconfined"


def test_falcoctl_has_no_capability_and_falco_no_docker_socket() -> None:
    pod = falco_pod(planned_objects())
    for name in ("falcoctl-artifact-install", "falcoctl-artifact-follow"):
        context = containers(pod)[name]["securityContext"]
        assert context["capabilities"]["drop"] == ["ALL"], name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
    sockets = {
        v["hostPath"]["path"] for v in pod["spec"]["volumes"] if v["name"].startswith("container-engine")
    }
    assert sockets == {"/run/containerd/containerd.sock", "/run/host-containerd/containerd.sock"}
