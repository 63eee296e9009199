"""Falco: runtime security, a DaemonSet watching syscalls on every node (optionally falcosidekick).

The driver is ``modern_ebpf`` (CO-RE, built into the Falco binary): it works on AL2023 and Bottlerocket
alike, needs no driver-loader init container, and downloads nothing per kernel. ``kmod`` cannot load
under Bottlerocket's lockdown, and the legacy ``ebpf`` probe was removed in chart 9.

Falco is not privileged: ``driver.modernEbpf.leastPrivileged`` gives its container the capabilities the
probe needs instead (BPF and PERFMON to load programs and open the ring buffer, SYS_RESOURCE for
setrlimit, SYS_PTRACE to read other processes' /proc entries) and AppArmor ``unconfined``. The split of
BPF and PERFMON out of SYS_ADMIN came with Linux 5.8; every AMI Armful runs (AL2023, kernel 6.1 and
later; Bottlerocket for EKS, 6.1 and later) has a newer kernel with the BTF the CO-RE probe reads.
The chart replaces its own security context with ``containerSecurityContext`` when that is set, so the
capabilities are written out here; tests/security renders the chart both ways and holds them equal.
"""

from __future__ import annotations

from typing import Any

from armful.addons.context import AddonContext
from armful.addons.namespaces import FALCO
from armful.addons.security_context import no_privileges, runtime_default_seccomp
from armful.addons.spec import AddonOptions, AddonSpec
from armful.placement.workloads import (
    HostAccess,
    Image,
    PlacementKeys,
    Resources,
    Sidecar,
    Workload,
    WorkloadKind,
    on_both_arches,
)

RELEASE = "falco"
CHART_VERSION = "9.1.0"

# falcoctl runs twice in each Falco pod: an init container installs rules and the container plugin
# (artifact install) and a sidecar keeps the rules current (artifact follow).
FALCOCTL = Image("docker.io/falcosecurity/falcoctl", "0.13.0")

# What the chart's leastPrivileged mode adds for the modern eBPF probe (pod-template.tpl).
PROBE_CAPABILITIES = ("BPF", "SYS_RESOURCE", "PERFMON", "SYS_PTRACE")
# Of the runtime's default capabilities, those Falco never uses: it opens no raw socket, creates no device
# node, does not chroot, sets no file capability and writes no audit record. DAC_OVERRIDE stays: listing
# /proc/<pid>/fd of a process of another user needs it.
UNUSED_DEFAULT_CAPABILITIES = ("NET_RAW", "MKNOD", "SYS_CHROOT", "SETFCAP", "AUDIT_WRITE")
# falcoctl only downloads artifacts into the pod's emptyDir volumes (world-writable): no capability at all.
FALCOCTL_SECURITY_CONTEXT = {**no_privileges(), **runtime_default_seccomp()}


class FalcoOptions(AddonOptions):
    sidekick: bool = False
    """Run falcosidekick, which forwards Falco's events to outputs (Slack, SNS, Loki, ...)."""


# Falco's priority class key is `podPriorityClassName`. Its default tolerations cover control-plane
# taints only; the engine replaces them with every pool taint. No CPU limit: throttling the consumer of
# the syscall ring buffers shows up as dropped events.
FALCO_AGENT = Workload(
    name="falco",
    kind=WorkloadKind.DAEMONSET,
    images=(Image("docker.io/falcosecurity/falco", "0.44.1"), FALCOCTL),
    keys=PlacementKeys(priority_class="podPriorityClassName", replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="100m", memory="512Mi", memory_limit="1Gi")),
    pod_labels={"app.kubernetes.io/name": "falco"},
    sidecars=(
        Sidecar(
            ("falcoctl", "artifact", "follow", "resources"), ("falcoctl", "artifact", "follow", "enabled")
        ),
    ),
    # Least privileged, modern_ebpf still adds BPF/PERFMON/SYS_RESOURCE/SYS_PTRACE with AppArmor unconfined,
    # and mounts /proc, /etc, /sys/kernel and the container runtime sockets; it is not privileged.
    host_access=(HostAccess.CAPABILITIES, HostAccess.HOST_PATH, HostAccess.APPARMOR_UNCONFINED),
)

# falcosidekick has no topologySpreadConstraints and no PDB template: a preferred zone anti-affinity
# (its `affinity` key) spreads the two replicas instead.
_SIDEKICK_LABELS = {"app.kubernetes.io/name": "falcosidekick", "app.kubernetes.io/instance": RELEASE}
SIDEKICK = Workload(
    name="falcosidekick",
    kind=WorkloadKind.DEPLOYMENT,
    # The subchart's values pin 2.32.0, newer than its appVersion (2.31.1); the values win.
    images=(Image("docker.io/falcosecurity/falcosidekick", "2.32.0"),),
    path=("falcosidekick",),
    keys=PlacementKeys(topology_spread=None),
    resources=on_both_arches(Resources(cpu="50m", memory="64Mi", memory_limit="128Mi")),
    replicas=2,
    pod_labels=_SIDEKICK_LABELS,
    extra_values={
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "topology.kubernetes.io/zone",
                            "labelSelector": {"matchLabels": _SIDEKICK_LABELS},
                        },
                    }
                ]
            }
        }
    },
    enabled_by=("falcosidekick", "enabled"),
    enabled_by_default=False,
)


def values(context: AddonContext) -> dict[str, Any]:
    options = context.options_as(FalcoOptions)
    falcoctl_resources = Resources(cpu="10m", memory="64Mi", memory_limit="256Mi").to_values()
    return {
        "driver": {"enabled": True, "kind": "modern_ebpf", "modernEbpf": {"leastPrivileged": True}},
        # No privilege escalation (no_new_privs: Falco runs no setuid program) and fewer default capabilities.
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": list(PROBE_CAPABILITIES), "drop": list(UNUSED_DEFAULT_CAPABILITIES)},
        },
        # EKS nodes run containerd only (AL2023 and Bottlerocket; Bottlerocket's host containers have a
        # containerd of their own at /run/host-containerd, which the containerd engine watches). No Docker or
        # Podman socket to mount, and no CRI socket of another distribution's runtime.
        "collectors": {
            "containerEngine": {
                "engines": {
                    "docker": {"enabled": False},
                    "podman": {"enabled": False},
                    "cri": {"sockets": ["/run/containerd/containerd.sock"]},
                }
            }
        },
        # One JSON object per event: the log pipeline ships it to CloudWatch as a queryable record.
        "falco": {"json_output": True, "json_include_output_property": True},
        "falcoctl": {
            "artifact": {
                "install": {"resources": falcoctl_resources, "securityContext": FALCOCTL_SECURITY_CONTEXT},
                "follow": {"resources": falcoctl_resources, "securityContext": FALCOCTL_SECURITY_CONTEXT},
            }
        },
        "falcosidekick": {
            "enabled": options.sidekick,
            # The UI brings its own Deployment and a Redis with a default admin:admin login.
            "webui": {"enabled": False},
        },
    }


SPEC = AddonSpec(
    key="falco",
    release=RELEASE,
    namespace=FALCO,
    chart="falco",
    repository="https://falcosecurity.github.io/charts",
    version=CHART_VERSION,
    summary="runtime security (Falco DaemonSet, modern eBPF driver; falcosidekick optional)",
    workloads=(FALCO_AGENT, SIDEKICK),
    values=values,
    options=FalcoOptions,
    # Kubernetes objects passed through as they are (the defaults are empty maps).
    free_form_paths=(
        "falcoctl.artifact.install.resources",
        "falcoctl.artifact.follow.resources",
        "falcosidekick.affinity",
    ),
    chart_dir=f"falco-{CHART_VERSION}",
    subcharts={"falcosidekick": "falcosidekick-0.12.1"},
)
