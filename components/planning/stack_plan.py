"""From a stack's name or file to its plan: the one entry the CLI and tests share."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from armful.core.arch import Arch
from armful.images.cache import ImageCache
from armful.planning.plan import Plan, build_plan
from armful.planning.stack_config import stack_config_from_pulumi
from armful.planning.stack_file import read_stack_file, stack_file_path


def plan_stack(
    stack: str | None = None,
    stack_file: Path | None = None,
    image_arches: Mapping[str, frozenset[Arch]] | None = None,
) -> Plan:
    """Plan a stack file. The user's workloads are placed by ``image_arches`` when given, else by
    platforms an earlier ``readiness`` run cached, else by the arches their config declares; an add-on
    image an override names is judged by ``image_arches`` or the cache the same way (unknown without)."""
    path = stack_file if stack_file is not None else stack_file_path(stack or "")
    document = read_stack_file(path, stack)
    # The stack program's own path from config to errors (pulumi_config.read_stack_args), on the same data.
    validated = stack_config_from_pulumi(document.config, document.secret_keys)
    config = validated.config
    if image_arches is not None:
        return build_plan(document.stack, config, region=validated.region, image_arches=image_arches)
    arches = cached_arches([image for workload in config.workloads for image in workload.images])
    plan = build_plan(document.stack, config, region=validated.region, image_arches=arches)
    # Images the add-ons' values name instead of the declared ones: judged on what readiness read of them.
    overridden = cached_arches(
        [image for entry in plan.placement for image in entry.images if image not in arches]
    )
    undeclared = {image: known for image, known in overridden.items() if image not in _declared(plan)}
    if not undeclared:
        return plan
    return build_plan(document.stack, config, region=validated.region, image_arches={**arches, **undeclared})


def _declared(plan: Plan) -> set[str]:
    return {image.ref for release in plan.releases for w in release.spec.workloads for image in w.images}


def cached_arches(images: list[str]) -> dict[str, frozenset[Arch]]:
    """Platforms ``readiness`` read within the cache's time limit; no network."""
    cache = ImageCache()
    arches = {}
    for image in images:
        hit = cache.get(image)
        if hit is not None and hit.error is None:
            arches[image] = frozenset(arch for arch in Arch if hit.has_arch(arch))
    return arches
