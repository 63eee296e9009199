"""Fluent Bit: a DaemonSet shipping every container's logs (and the kubelet's) to CloudWatch Logs.

Logs go to one log group per cluster, ``log_group_name(cluster)``, which the Pulumi layer creates with
the configured retention: Fluent Bit never creates groups (``auto_create_group false``), so its role
needs no ``logs:CreateLogGroup`` and retention stays under Armful's control. Credentials come from EKS
Pod Identity, which the C ``cloudwatch_logs`` plugin of the pinned 5.1 reads (releases before 2025 and
the old Go ``cloudwatch`` plugin did not).
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from armful.addons.context import AddonContext
from armful.addons.namespaces import LOGGING
from armful.addons.security_context import no_privileges, runtime_default_seccomp
from armful.addons.spec import AddonOptions, AddonSpec, LogGroup, PodIdentity, PolicyScope
from armful.placement.workloads import (
    HostAccess,
    Image,
    ImageKeys,
    PlacementKeys,
    Resources,
    Switch,
    ValuesPath,
    Workload,
    WorkloadKind,
    on_both_arches,
)

RELEASE = "fluent-bit"
CHART_VERSION = "0.58.1"
SERVICE_ACCOUNT = "fluent-bit"

LOG_GROUP_PREFIX = "/aws/eks/"
LOG_GROUP_SUFFIX = "/containers"

# The values CloudWatch Logs' PutRetentionPolicy accepts.
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def log_group_name(cluster_name: str) -> str:
    """The CloudWatch log group of a cluster's container logs (EKS' own control-plane group is ``/cluster``)."""
    return f"{LOG_GROUP_PREFIX}{cluster_name}{LOG_GROUP_SUFFIX}"


class FluentBitOptions(AddonOptions):
    log_retention_days: int = 30
    """Retention of the container log group, in days (one of CloudWatch's allowed values)."""

    @field_validator("log_retention_days")
    @classmethod
    def _allowed_by_cloudwatch(cls, days: int) -> int:
        if days not in CLOUDWATCH_RETENTION_DAYS:
            allowed = ", ".join(str(value) for value in CLOUDWATCH_RETENTION_DAYS)
            raise ValueError(f"CloudWatch Logs cannot keep logs for {days} days. Fix: use one of {allowed}")
        return days


def shipping_policy(scope: PolicyScope) -> dict[str, Any]:
    """What Fluent Bit may do: write streams into this cluster's container log group, nothing else.

    The group's exact ARN: this partition, region, account and cluster, not any ``/aws/eks/*/containers``.
    """
    group = (
        f"arn:{scope.partition}:logs:{scope.region}:{scope.account_id}:log-group:"
        f"{log_group_name(scope.cluster_name)}"
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ShipContainerLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                # Streams are `<group>:log-stream:<name>`; some APIs authorise against `<group>:*`.
                "Resource": [group, f"{group}:*"],
            }
        ],
    }


APP_VERSION = "5.1.1"


def _image(base: ValuesPath, repository: str, tag: str | None, empty_tag: str = "") -> ImageKeys:
    """``<repository>[:<tag>][@<digest>]``: the registry is part of the repository."""
    return ImageKeys(
        repository=(*base, "repository"),
        tag=(*base, "tag"),
        digest=(*base, "digest"),
        empty_tag=empty_tag,
        defaults={(*base, "repository"): repository, (*base, "tag"): tag},
    )


_IMAGES = (
    # An empty tag is the chart's appVersion.
    Image.from_keys(_image(("image",), "cr.fluentbit.io/fluent/fluent-bit", None, APP_VERSION)),
    # A sidecar that reloads Fluent Bit when its config changes, when hot reload is on.
    Image.from_keys(
        _image(("hotReload", "image"), "ghcr.io/jimmidyson/configmap-reload", "v0.15.0"),
        enabled_if=(Switch(("hotReload", "enabled"), default=False),),
    ),
)
_CONTAINER_LISTS = (("initContainers",), ("extraContainers",))

# A DaemonSet: `replicaCount` and the PDB apply only to kind Deployment, and there is no
# topologySpreadConstraints key. The chart tolerates nothing by default; the engine adds every pool taint.
AGENT = Workload(
    name="fluent-bit",
    kind=WorkloadKind.DAEMONSET,
    images=_IMAGES,
    keys=PlacementKeys(replicas=None, topology_spread=None),
    # No evidence of different needs on Graviton; the limit leaves room for the kubernetes filter's
    # metadata cache and chunks being flushed.
    resources=on_both_arches(Resources(cpu="100m", memory="128Mi", memory_limit="512Mi")),
    pod_labels={"app.kubernetes.io/name": "fluent-bit"},
    # Tails /var/log and container logs from the host.
    host_access=(HostAccess.HOST_PATH,),
    enabled_if=(Switch(("kind",), "DaemonSet", default="DaemonSet"),),
    templates=("templates/daemonset.yaml",),
    extra_containers=_CONTAINER_LISTS,
)

# kind Deployment: the same pods as a Deployment (an aggregator that other agents forward to), placed on
# the system pool; it still mounts the host's logs, but of the nodes its replicas land on only. Its pods
# carry the agent's labels, so kyverno-policies' exclusion of the agent covers them too.
DEPLOYMENT = Workload(
    name="fluent-bit-deployment",
    kind=WorkloadKind.DEPLOYMENT,
    images=_IMAGES,
    keys=PlacementKeys(topology_spread=None),
    resources=AGENT.resources,
    replicas=2,
    pod_labels=AGENT.pod_labels,
    enabled_if=(Switch(("kind",), "Deployment", default="DaemonSet"),),
    templates=("templates/deployment.yaml",),
    extra_containers=_CONTAINER_LISTS,
)

# Classic-mode sections. The chart renders them through `tpl`, so `{{ .Values.* }}` is resolved there;
# `${NODE_NAME}` is resolved by Fluent Bit from the container's environment.
# Offsets (DB) and buffered chunks (storage.path) live on the host's /var/log, which the chart mounts
# read-write, so a restarted pod neither re-sends nor loses logs.
SERVICE = """\
[SERVICE]
    Daemon Off
    Flush {{ .Values.flush }}
    Log_Level {{ .Values.logLevel }}
    Parsers_File /fluent-bit/etc/parsers.conf
    Parsers_File /fluent-bit/etc/conf/custom_parsers.conf
    HTTP_Server On
    HTTP_Listen 0.0.0.0
    HTTP_Port {{ .Values.metricsPort }}
    Health_Check On
    storage.path /var/log/flb-storage/
    storage.sync normal
    storage.backlog.mem_limit 16M
"""

INPUTS = """\
[INPUT]
    Name tail
    Path /var/log/containers/*.log
    multiline.parser docker, cri
    Tag kube.*
    DB /var/log/flb_kube.db
    storage.type filesystem
    Skip_Long_Lines On
    Refresh_Interval 10

[INPUT]
    Name systemd
    Tag host.*
    Systemd_Filter _SYSTEMD_UNIT=kubelet.service
    Read_From_Tail On
    DB /var/log/flb_systemd.db
    storage.type filesystem
"""

# Buffer_Size 0: a pod with many labels or annotations overflows the default 32k API response buffer,
# and its logs would then carry no Kubernetes metadata.
FILTERS = """\
[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log On
    Keep_Log Off
    K8S-Logging.Parser On
    K8S-Logging.Exclude On
    Annotations Off
    Buffer_Size 0
"""


def outputs(region: str, group: str) -> str:
    """Two cloudwatch_logs outputs into one group: a stream per container, and one per node's kubelet.

    Retry_Limit False: the default is a single retry, which drops logs on any CloudWatch throttling;
    retries are bounded by each output's on-disk buffer instead.
    """
    return f"""\
[OUTPUT]
    Name cloudwatch_logs
    Match kube.*
    region {region}
    log_group_name {group}
    log_stream_prefix kube.
    log_stream_template $kubernetes['namespace_name'].$kubernetes['pod_name'].$kubernetes['container_name']
    auto_create_group false
    storage.total_limit_size 1G
    Retry_Limit False

[OUTPUT]
    Name cloudwatch_logs
    Match host.*
    region {region}
    log_group_name {group}
    log_stream_prefix ${{NODE_NAME}}.
    auto_create_group false
    storage.total_limit_size 256M
    Retry_Limit False
"""


def values(context: AddonContext) -> dict[str, Any]:
    return {
        # The Pod Identity association names this service account, so its name must not depend on
        # the release name.
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "config": {
            "service": SERVICE,
            "inputs": INPUTS,
            "filters": FILTERS,
            "outputs": outputs(context.region, log_group_name(context.cluster_name)),
        },
        # The test pod runs only under `helm test` and would carry no placement.
        "testFramework": {"enabled": False},
        # Root, to read the node's root-owned logs (containerd writes them 0640, journald's files are
        # root's) and keep its offsets and buffer in the host's /var/log. As their owner it needs no
        # capability, DAC_OVERRIDE included, and it writes nothing outside those volumes.
        "podSecurityContext": runtime_default_seccomp(),
        "securityContext": {**no_privileges(), "readOnlyRootFilesystem": True},
    }


SPEC = AddonSpec(
    key="fluentBit",
    release=RELEASE,
    namespace=LOGGING,
    chart="fluent-bit",
    repository="https://fluent.github.io/helm-charts",
    version=CHART_VERSION,
    summary="logs (Fluent Bit DaemonSet to CloudWatch Logs)",
    workloads=(AGENT, DEPLOYMENT),
    values=values,
    options=FluentBitOptions,
    pod_identity=PodIdentity(service_account=SERVICE_ACCOUNT, scoped_inline_policy=shipping_policy),
    chart_dir=f"fluent-bit-{CHART_VERSION}",
    log_group=lambda cluster_name, options: LogGroup(
        log_group_name(cluster_name),
        options.log_retention_days,  # type: ignore[attr-defined]
    ),
)
