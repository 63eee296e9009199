"""Every pod template in a set of rendered manifests, in the PodSpec wire form the scheduler model reads.

Pure: no Helm, no cluster. Where a pod spec sits depends on the kind:

- Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job: ``spec.template.spec``;
- CronJob: ``spec.jobTemplate.spec.template.spec``; Pod: ``spec``;
- the prometheus-operator's Prometheus, PrometheusAgent, Alertmanager and ThanosRuler resources: the
  operator builds a StatefulSet (or, for an agent in DaemonSet mode, a DaemonSet) from ``spec.nodeSelector``,
  ``spec.tolerations``, ``spec.affinity``, ``spec.image`` (else its default image) and
  ``spec.containers``/``spec.initContainers``. Those are gathered into a pod-spec-like dict.

A DaemonSet (or an agent-mode PrometheusAgent) is a node agent; everything else is a controller.
A Helm hook is any object with a ``helm.sh/hook`` annotation; ``test`` (and Helm 2's ``test-success``)
hooks run only on ``helm test``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HOOK_ANNOTATION",
    "OPERATOR_KINDS",
    "PodTemplate",
    "extract_pod_templates",
    "operator_image_defaults",
    "subchart_path",
]

HOOK_ANNOTATION = "helm.sh/hook"
TEST_HOOK_EVENTS = frozenset({"test", "test-success"})
MONITORING_GROUP = "monitoring.coreos.com"

_TEMPLATE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}
)


@dataclass(frozen=True)
class _OperatorKind:
    container: str
    """The name of the main container the operator generates (a spec.containers entry of that name patches it)."""
    image_flag: str
    """The operator's flag for the default base image of this kind."""
    default_image: str
    """The operator's built-in default, when neither the resource nor the flag says otherwise."""


OPERATOR_KINDS: Mapping[str, _OperatorKind] = {
    "Prometheus": _OperatorKind(
        "prometheus", "--prometheus-default-base-image", "quay.io/prometheus/prometheus"
    ),
    "PrometheusAgent": _OperatorKind(
        "prometheus", "--prometheus-default-base-image", "quay.io/prometheus/prometheus"
    ),
    "Alertmanager": _OperatorKind(
        "alertmanager", "--alertmanager-default-base-image", "quay.io/prometheus/alertmanager"
    ),
    "ThanosRuler": _OperatorKind("thanos-ruler", "--thanos-default-base-image", "quay.io/thanos/thanos"),
}
_CONFIG_RELOADER_FLAG = "--prometheus-config-reloader"


@dataclass(frozen=True)
class PodTemplate:
    """One pod template a release creates, as the scheduler will see its pods."""

    kind: str
    name: str
    pod_spec: Mapping[str, Any]
    hook: str | None = None
    """The ``helm.sh/hook`` annotation (``"pre-install,pre-upgrade"``), None for an ordinary object."""
    namespace: str | None = None
    source: str | None = None
    """The template file that rendered it, where known (``parent/charts/child/templates/x.yaml``)."""
    node_agent: bool = False

    @property
    def is_hook(self) -> bool:
        return self.hook is not None

    @property
    def hook_events(self) -> tuple[str, ...]:
        """The events it runs on, trimmed and lower-cased as Helm reads them (``Test`` is ``test``)."""
        return tuple(event.strip().lower() for event in (self.hook or "").split(",") if event.strip())

    @property
    def is_test_hook(self) -> bool:
        """Runs only on ``helm test``: it cannot hang an install or upgrade."""
        events = self.hook_events
        return bool(events) and set(events) <= TEST_HOOK_EVENTS

    @property
    def subchart(self) -> tuple[str, ...]:
        """The subchart that rendered it, as the values path its keys sit under; () for the chart itself."""
        return subchart_path(self.source)

    @property
    def label(self) -> str:
        """``Job/foo (helm.sh/hook: pre-install) from subchart child``: how findings name it."""
        text = f"{self.kind}/{self.name}"
        if self.hook:
            text += f" ({HOOK_ANNOTATION}: {self.hook})"
        if self.subchart:
            text += f" from subchart {'.'.join(self.subchart)} (values under {'.'.join(self.subchart)}.*)"
        return text

    @property
    def role(self) -> str:
        return "node agent" if self.node_agent else "controller"


def subchart_path(source: str | None) -> tuple[str, ...]:
    """``parent/charts/a/charts/b/templates/x.yaml`` → ``("a", "b")``: where that subchart's values sit."""
    if not source:
        return ()
    parts = source.split("/")
    names, index = [], 1
    while index + 2 < len(parts) and parts[index] == "charts":
        names.append(parts[index + 1])
        index += 2
    return tuple(names)


def extract_pod_templates(
    manifests: Iterable[Mapping[str, Any]], sources: Sequence[str | None] | None = None
) -> list[PodTemplate]:
    """The pod templates in ``manifests``, in order; ``sources[i]`` names the file of ``manifests[i]``.

    Objects without a pod template (Services, ConfigMaps, CRDs...) are skipped. Operator defaults for the
    monitoring resources are read from the operator Deployment's flags when it is among the manifests.
    """
    manifests = list(manifests)
    if sources is not None and len(sources) != len(manifests):
        raise ValueError(f"{len(sources)} sources for {len(manifests)} manifests")
    defaults = operator_image_defaults(manifests)
    templates = []
    for index, manifest in enumerate(manifests):
        template = _pod_template(manifest, defaults)
        if template is None:
            continue
        source = sources[index] if sources is not None else None
        templates.append(
            PodTemplate(
                kind=template[0],
                name=_metadata(manifest).get("name") or "",
                pod_spec=template[1],
                hook=_hook(manifest),
                namespace=_metadata(manifest).get("namespace"),
                source=source,
                node_agent=template[2],
            )
        )
    return templates


def _pod_template(
    manifest: Mapping[str, Any], defaults: Mapping[str, str]
) -> tuple[str, Mapping[str, Any], bool] | None:
    kind = manifest.get("kind")
    spec = manifest.get("spec")
    if not isinstance(kind, str) or not isinstance(spec, Mapping):
        return None
    if kind in _TEMPLATE_KINDS:
        pod = _dig(spec, "template", "spec")
    elif kind == "CronJob":
        pod = _dig(spec, "jobTemplate", "spec", "template", "spec")
    elif kind == "Pod":
        pod = spec
    elif kind in OPERATOR_KINDS and _group(manifest) == MONITORING_GROUP:
        agent = kind == "PrometheusAgent" and spec.get("mode") == "DaemonSet"
        return kind, operator_pod_spec(kind, spec, defaults), agent
    else:
        return None
    if pod is None:
        return None
    return kind, pod, kind == "DaemonSet"


def operator_pod_spec(kind: str, spec: Mapping[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    """The pod-template-like part of a monitoring.coreos.com resource, as the operator would build it.

    The main container runs ``spec.image`` if set, else ``spec.baseImage`` (deprecated) or the operator's
    default base image, at ``spec.tag``/``spec.version`` when given. A ``spec.containers`` entry named
    like the main container patches it (its image wins); other entries are extra sidecars. The config
    reloader sidecar's image comes from the operator's ``--prometheus-config-reloader`` flag when known.
    """
    known = OPERATOR_KINDS[kind]
    image = spec.get("image") or _default_image(known, spec, defaults)
    containers: list[dict[str, Any]] = [{"name": known.container, "image": image}]
    reloader = defaults.get(_CONFIG_RELOADER_FLAG)
    if reloader:
        containers.append({"name": "config-reloader", "image": reloader})
    for extra in spec.get("containers") or ():
        if not isinstance(extra, Mapping):
            continue
        patched = next((c for c in containers if c["name"] == extra.get("name")), None)
        if patched is not None:
            if extra.get("image"):
                patched["image"] = extra["image"]
        elif extra.get("image"):
            containers.append(dict(extra))
    pod: dict[str, Any] = {"containers": containers}
    init = [dict(c) for c in spec.get("initContainers") or () if isinstance(c, Mapping) and c.get("image")]
    if init:
        pod["initContainers"] = init
    for field in ("nodeSelector", "tolerations", "affinity"):
        if spec.get(field):
            pod[field] = spec[field]
    return pod


def operator_image_defaults(manifests: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The prometheus-operator's image flags (``--flag=value``) from any container among the manifests."""
    flags = {known.image_flag for known in OPERATOR_KINDS.values()} | {_CONFIG_RELOADER_FLAG}
    found: dict[str, str] = {}
    for manifest in manifests:
        template = _dig(manifest, "spec", "template", "spec") or {}
        for container in template.get("containers") or ():
            for arg in container.get("args") or ():
                flag, sep, value = str(arg).partition("=")
                if sep and flag in flags and value:
                    found.setdefault(flag, value)
    return found


def _default_image(known: _OperatorKind, spec: Mapping[str, Any], defaults: Mapping[str, str]) -> str:
    base = spec.get("baseImage") or defaults.get(known.image_flag) or known.default_image
    if spec.get("sha"):
        return f"{base}@sha256:{spec['sha']}"
    tag = spec.get("tag") or spec.get("version")
    return f"{base}:{tag}" if tag else base


def _dig(tree: Any, *path: str) -> Mapping[str, Any] | None:
    for key in path:
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(key)
    return tree if isinstance(tree, Mapping) else None


def _metadata(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = manifest.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _hook(manifest: Mapping[str, Any]) -> str | None:
    annotations = _metadata(manifest).get("annotations")
    if not isinstance(annotations, Mapping):
        return None
    hook = annotations.get(HOOK_ANNOTATION)
    return str(hook) if hook is not None else None


def _group(manifest: Mapping[str, Any]) -> str:
    return str(manifest.get("apiVersion") or "").rpartition("/")[0]
