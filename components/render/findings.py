"""Findings about rendered pod templates: the checks of design §5, on what Helm actually produced.

Pure. Each pod template is run through the scheduler model (``armful.placement.scheduler.evaluate``)
against every planned pool, then judged by ``armful.placement.judgement.judge``, as declared
workloads are.

Every message names the release, the object (``Kind/name``), whether it is a Helm hook (and which), and the
subchart whose values it reads. A hook that cannot be scheduled hangs ``helm install``, so hooks are
errors like everything else; ``helm test`` hooks, which never run on install or upgrade, are only ever
warnings, and each one says so (:data:`TEST_HOOK_NOTE`).

An image's arches are known only from the map given (``image → arches``); an image missing from it is
unknown, never assumed to lack an arch, as in the scheduler model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from armful.core.arch import Arch
from armful.core.findings import Finding, FindingLevel
from armful.core.pools import PoolPlan
from armful.core.topology import Topology
from armful.placement.judgement import judge
from armful.placement.scheduler import NodeProfile, evaluate, pod_images
from armful.planning.releases import PlacementEntry
from armful.render.pod_templates import PodTemplate

__all__ = [
    "TEST_HOOK_NOTE",
    "TemplatePlacement",
    "canonical_image",
    "judge_pod_template",
    "render_findings",
]

ImageArches = Mapping[str, Iterable[Arch | str]]

TEST_HOOK_NOTE = "It is a helm test hook: it runs only under `helm test`, never on install or upgrade."


@dataclass(frozen=True)
class TemplatePlacement:
    """Where one rendered pod template can run, and what is wrong with that."""

    release: str
    template: PodTemplate
    pools: tuple[str, ...]
    findings: tuple[Finding, ...]

    def entry(self) -> PlacementEntry:
        """The same shape as the plan's ``placement`` entries (design §6)."""
        return PlacementEntry(
            self.release, self.template.name, self.template.kind, self.pools, self.template.is_hook
        )


def render_findings(
    release: str,
    templates: Iterable[PodTemplate],
    pools: Sequence[PoolPlan],
    *,
    topology: Topology | str | None = None,
    image_arches: ImageArches | None = None,
) -> list[Finding]:
    """Every finding about a release's rendered pod templates, in template order."""
    return [
        finding
        for template in templates
        for finding in judge_pod_template(
            release, template, pools, topology=topology, image_arches=image_arches
        ).findings
    ]


def judge_pod_template(
    release: str,
    template: PodTemplate,
    pools: Sequence[PoolPlan],
    *,
    topology: Topology | str | None = None,
    image_arches: ImageArches | None = None,
) -> TemplatePlacement:
    """Run the scheduler model for one pod template on every pool and judge the verdicts."""
    subject = f"{release} rendered {template.label}"
    level = FindingLevel.WARNING if template.is_test_hook else FindingLevel.ERROR
    arches = _arches_of_images(template.pod_spec, image_arches)
    try:
        nodes = [NodeProfile.of_pool(pool) for pool in pools]
        verdicts = [evaluate(template.pod_spec, node, arches) for node in nodes]
    except ValueError as error:  # an operator the API server would reject: the pod is never created
        finding = Finding(level, "stranded", f"{subject} can run on no pool: {error}")
        return TemplatePlacement(release, template, (), _noting_test_hook(template, [finding]))
    landing = tuple(verdict.pool for verdict in verdicts if verdict.runs)
    hangs = ""
    if template.is_hook and not template.is_test_hook:
        hangs = f" A {template.hook} hook that cannot run hangs helm until it times out."
    findings = judge(
        subject,
        node_agent=template.node_agent,
        pools=pools,
        verdicts=verdicts,
        image_arches=arches,
        topology=_topology(topology),
        level=level,
        stranded_consequence=hangs,
    )
    return TemplatePlacement(release, template, landing, _noting_test_hook(template, findings))


def _noting_test_hook(template: PodTemplate, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """A test hook's findings say why they are only warnings: the pod never runs on install or upgrade."""
    if not template.is_test_hook:
        return tuple(findings)
    return tuple(Finding(f.level, f.code, f"{f.message.rstrip('.')}. {TEST_HOOK_NOTE}") for f in findings)


# ------------------------------------------------------------------------------------ images


def canonical_image(image: str) -> str:
    """A reference in one spelling, so ``docker.io/library/x:1`` and ``x:1`` find the same arches.

    A digest is dropped (arches are recorded per tag); a reference with neither tag nor digest means ``:latest``.
    """
    ref, _, digest = image.strip().partition("@")
    ref = ref.removeprefix("docker.io/").removeprefix("index.docker.io/").removeprefix("library/")
    if not digest and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


def _arches_of_images(pod_spec: Mapping, image_arches: ImageArches | None) -> dict[str, frozenset[Arch]]:
    """The known arches of each image the pod pulls, keyed by the image as the pod spells it."""
    if not image_arches:
        return {}
    known = {
        canonical_image(image): frozenset(Arch(a) for a in arches) for image, arches in image_arches.items()
    }
    found = {}
    for image in pod_images(pod_spec):
        arches = known.get(canonical_image(image))
        if arches is not None:
            found[image] = arches
    return found


def _topology(topology: Topology | str | None) -> str | None:
    if topology is None:
        return None
    return topology.value if isinstance(topology, Topology) else str(topology)
