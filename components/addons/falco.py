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

from dataclasses import replace
from typing import Any

from armful.addons.context import AddonContext
from armful.addons.namespaces import FALCO
from armful.addons.security_context import no_privileges, runtime_default_seccomp
from armful.addons.spec import AddonOptions, AddonSpec, UndeclaredWorkload
from armful.placement.workloads import (
    AnyOf,
    Condition,
    HostAccess,
    Image,
    ImageKeys,
    Not,
    PlacementKeys,
    Resources,
    Sidecar,
    Switch,
    ValuesPath,
    Workload,
    WorkloadKind,
    on_both_arches,
)

RELEASE = "falco"
CHART_VERSION = "9.1.0"

APP_VERSION = "0.44.1"


def _image(
    base: ValuesPath, repository: str, tag: str, empty_tag: str = "", enabled_if: tuple[Condition, ...] = ()
) -> Image:
    """``<registry>/<repository>:<tag>`` from the keys under ``base`` (registry docker.io by default)."""
    return Image.from_keys(
        ImageKeys(
            repository=(*base, "repository"),
            tag=(*base, "tag"),
            registries=((*base, "registry"),),
            empty_tag=empty_tag,
            defaults={
                (*base, "registry"): "docker.io",
                (*base, "repository"): repository,
                (*base, "tag"): tag,
            },
        ),
        enabled_if=enabled_if,
    )


_ARTIFACT = ("falcoctl", "artifact")
# falcoctl runs twice in each Falco pod: an init container installs rules and the container plugin
# (artifact install) and a sidecar keeps the rules current (artifact follow).
FALCOCTL = _image(
    ("falcoctl", "image"),
    "falcosecurity/falcoctl",
    "0.13.0",
    enabled_if=(
        AnyOf(
            (
                Switch((*_ARTIFACT, "install", "enabled"), default=True),
                Switch((*_ARTIFACT, "follow", "enabled"), default=True),
            )
        ),
    ),
)
# The driver loader init container runs for the kmod driver (and for auto, the chart's default), never for
# modern_ebpf, which is built into Falco.
DRIVER_LOADER = _image(
    ("driver", "loader", "initContainer", "image"),
    "falcosecurity/falco-driver-loader",
    "",
    empty_tag=APP_VERSION,
    enabled_if=(
        Switch(("driver", "enabled"), default=True),
        Switch(("driver", "loader", "enabled"), default=True),
        Not(Switch(("driver", "kind"), frozenset({"modern_ebpf", "modern-bpf"}), default="auto")),
    ),
)
_DAEMONSET = Switch(("controller", "kind"), "daemonset", default="daemonset")

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
    images=(_image(("image",), "falcosecurity/falco", "", empty_tag=APP_VERSION), FALCOCTL, DRIVER_LOADER),
    keys=PlacementKeys(priority_class="podPriorityClassName", replicas=None, topology_spread=None),
    resources=on_both_arches(Resources(cpu="100m", memory="512Mi", memory_limit="1Gi")),
    pod_labels={"app.kubernetes.io/name": "falco"},
    sidecars=(
        Sidecar(
            (*_ARTIFACT, "follow", "resources"), (Switch((*_ARTIFACT, "follow", "enabled"), default=True),)
        ),
    ),
    # Least privileged, modern_ebpf still adds BPF/PERFMON/SYS_RESOURCE/SYS_PTRACE with AppArmor unconfined,
    # and mounts /proc, /etc, /sys/kernel and the container runtime sockets; it is not privileged.
    host_access=(HostAccess.CAPABILITIES, HostAccess.HOST_PATH, HostAccess.APPARMOR_UNCONFINED),
    enabled_if=(_DAEMONSET,),
    templates=("templates/daemonset.yaml",),
    extra_containers=(("extra", "initContainers"),),
)

# controller.kind deployment: the same pods as a Deployment (for plugin-only sources such as k8saudit), a
# controller on the system pool that sees the syscalls of the nodes its replicas land on only. Its pods
# carry the agent's labels, so kyverno-policies' exclusion of the agent covers them too.
FALCO_DEPLOYMENT = replace(
    FALCO_AGENT,
    name="falco-deployment",
    kind=WorkloadKind.DEPLOYMENT,
    keys=PlacementKeys(
        priority_class="podPriorityClassName",
        replicas=("controller", "deployment", "replicas"),
        topology_spread=None,
    ),
    host_access=(),
    enabled_if=(Switch(("controller", "kind"), "deployment", default="daemonset"),),
    templates=("templates/deployment.yaml",),
)

# falcosidekick has no topologySpreadConstraints and no PDB template: a preferred zone anti-affinity
# (its `affinity` key) spreads the two replicas instead.
_SIDEKICK_ON = Switch(("falcosidekick", "enabled"), default=False)
_SIDEKICK_LABELS = {"app.kubernetes.io/name": "falcosidekick", "app.kubernetes.io/instance": RELEASE}
SIDEKICK = Workload(
    name="falcosidekick",
    kind=WorkloadKind.DEPLOYMENT,
    # The subchart's values pin 2.32.0, newer than its appVersion (2.31.1); the values win.
    images=(_image(("falcosidekick", "image"), "falcosecurity/falcosidekick", "2.32.0"),),
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
    enabled_if=(_SIDEKICK_ON,),
    templates=("charts/falcosidekick/templates/deployment.yaml",),
)

UNDECLARED = (
    UndeclaredWorkload(
        "falcosidekick's web UI Deployment and, unless webui.redis.enabled is false, its Redis StatefulSet "
        "(which log in as admin:admin by default)",
        (_SIDEKICK_ON, Switch(("falcosidekick", "webui", "enabled"), default=False)),
        "falcosidekick.webui (and falcosidekick.webui.redis)",
        ("charts/falcosidekick/templates/deployment-ui.yaml",),
    ),
    # Neither subchart is vendored in the pinned archive.
    UndeclaredWorkload(
        "the k8s-metacollector Deployment (subchart k8s-metacollector)",
        (Switch(("collectors", "kubernetes", "enabled"), default=False),),
        "k8s-metacollector",
    ),
    UndeclaredWorkload(
        "the Falco Talon Deployment (subchart falco-talon)",
        (Switch(("responseActions", "enabled"), default=False),),
        "falco-talon",
    ),
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
    workloads=(FALCO_AGENT, FALCO_DEPLOYMENT, SIDEKICK),
    undeclared=UNDECLARED,
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
