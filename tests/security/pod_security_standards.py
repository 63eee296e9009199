"""The Kubernetes Pod Security Standards' baseline and restricted profiles, field by field, as Pod Security
Admission judges a pod (kubernetes.io/docs/concepts/security/pod-security-standards, for the latest
version, which is what an unversioned namespace label means).

Each control is named as kyverno-policies names the policy that enforces it, so a node agent's violations
can be compared with the policies it is excluded from. Checked on a pod spec (and its metadata, for the
AppArmor annotations) after the API server's defaulting that matters here: a hostNetwork pod's container
ports get ``hostPort`` equal to ``containerPort``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from armful.placement.workloads import PodSecurityLevel

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or ()


def _context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    return container.get("securityContext") or {}


def baseline_violations(spec: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> set[str]:
    """The baseline controls this pod breaks."""
    pod = spec.get("securityContext") or {}
    found: set[str] = set()
    contexts = [_context(c) for c in _containers(spec)]
    if (pod.get("windowsOptions") or {}).get("hostProcess") or any(
        (c.get("windowsOptions") or {}).get("hostProcess") for c in contexts
    ):
        found.add("disallow-host-process")
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        found.add("disallow-host-namespaces")
    if any(c.get("privileged") for c in contexts):
        found.add("disallow-privileged-containers")
    if any(set((c.get("capabilities") or {}).get("add") or ()) - BASELINE_CAPABILITIES for c in contexts):
        found.add("disallow-capabilities")
    if any("hostPath" in volume for volume in spec.get("volumes") or ()):
        found.add("disallow-host-path")
    for container in _containers(spec):
        for port in container.get("ports") or ():
            host_port = port.get("hostPort", port.get("containerPort") if spec.get("hostNetwork") else 0)
            if host_port:
                found.add("disallow-host-ports")
    profiles = [pod.get("appArmorProfile"), *(c.get("appArmorProfile") for c in contexts)]
    annotations = (metadata or {}).get("annotations") or {}
    if any(p and p.get("type") not in ("RuntimeDefault", "Localhost") for p in profiles) or any(
        key.startswith(APPARMOR_ANNOTATION)
        and value != "runtime/default"
        and not value.startswith("localhost/")
        for key, value in annotations.items()
    ):
        found.add("restrict-apparmor-profiles")
    selinux = [pod.get("seLinuxOptions"), *(c.get("seLinuxOptions") for c in contexts)]
    if any(o and (o.get("type", "") not in SELINUX_TYPES or o.get("user") or o.get("role")) for o in selinux):
        found.add("disallow-selinux")
    if any(c.get("procMount", "Default") != "Default" for c in contexts):
        found.add("disallow-proc-mount")
    seccomp = [pod.get("seccompProfile"), *(c.get("seccompProfile") for c in contexts)]
    if any(profile and profile.get("type") == "Unconfined" for profile in seccomp):
        found.add("restrict-seccomp")
    if any(sysctl.get("name") not in SAFE_SYSCTLS for sysctl in pod.get("sysctls") or ()):
        found.add("restrict-sysctls")
    return found


def restricted_violations(spec: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> set[str]:
    """The restricted controls this pod breaks: baseline's, then restricted's own."""
    found = baseline_violations(spec, metadata)
    pod = spec.get("securityContext") or {}
    contexts = [_context(c) for c in _containers(spec)]
    if any(not any(kind in volume for kind in RESTRICTED_VOLUMES) for volume in spec.get("volumes") or ()):
        found.add("restrict-volume-types")
    if any(c.get("allowPrivilegeEscalation") is not False for c in contexts):
        found.add("disallow-privilege-escalation")
    pod_non_root = pod.get("runAsNonRoot") is True
    if any(
        c.get("runAsNonRoot") is False or (not pod_non_root and c.get("runAsNonRoot") is not True)
        for c in contexts
    ):
        found.add("require-run-as-nonroot")
    if pod.get("runAsUser") == 0 or any(c.get("runAsUser") == 0 for c in contexts):
        found.add("require-non-root-user")
    pod_seccomp = (pod.get("seccompProfile") or {}).get("type")
    for context in contexts:
        kind = (context.get("seccompProfile") or {}).get("type", pod_seccomp)
        if kind not in ("RuntimeDefault", "Localhost"):
            found.add("restrict-seccomp-strict")
    for context in contexts:
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or ()) or set(capabilities.get("add") or ()) - {
            "NET_BIND_SERVICE"
        }:
            found.add("restrict-capabilities-strict")
    return found


def violations(
    level: PodSecurityLevel, spec: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
) -> set[str]:
    """What Pod Security Admission at ``level`` would refuse this pod for."""
    if level is PodSecurityLevel.PRIVILEGED:
        return set()
    if level is PodSecurityLevel.BASELINE:
        return baseline_violations(spec, metadata)
    return restricted_violations(spec, metadata)
