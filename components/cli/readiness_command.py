"""``readiness``: which images have builds for which arches, and whether a stack's pools can run them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from armful.cli.progress import terminal_progress
from armful.cli.tables import render_table
from armful.core.arch import Arch
from armful.images.readiness import check_images, readiness_table
from armful.images.registry import NETWORK_ERROR_KINDS, ImagePlatforms, RegistryClient
from armful.planning.image_readiness import (
    ImageVerdict,
    addon_images,
    declaration_mismatches,
    image_needs,
    stack_verdicts,
)
from armful.planning.stack_plan import plan_stack


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image", action="append", default=[], metavar="REF", help="an image to check (repeatable)"
    )
    parser.add_argument(
        "--addons-declared",
        action="store_true",
        help="maintainers: compare every add-on image's published arches with what its module declares",
    )
    parser.add_argument("--refresh", action="store_true", help="ask the registries, ignoring the cache")
    parser.add_argument(
        "--insecure-registry", action="append", default=[], metavar="HOST", help="speak plain HTTP to HOST"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run_readiness(args: argparse.Namespace, out: TextIO) -> int:
    with RegistryClient(insecure_registries=tuple(args.insecure_registry)) as client:
        if args.addons_declared:
            return _check_declarations(args, client, out)
        if args.stack or args.stack_file:
            return _check_stack(args, client, out)
        if not args.image:
            print("readiness needs --stack, --stack-file, --image or --addons-declared", file=sys.stderr)
            return 2
        results = _read(args, client, args.image)
        if args.format == "json":
            _dump([result.to_json() for result in results], out)
        else:
            out.write(readiness_table(results))
        _say_if_offline(results)
        return 0 if all(result.error is None for result in results) else 1


def _read(args: argparse.Namespace, client: RegistryClient, images: list[str]) -> list[ImagePlatforms]:
    return check_images(
        images,
        refresh=args.refresh,
        client=client,
        on_progress=terminal_progress(sys.stderr, label="images read", enabled=args.format != "json"),
    )


def _check_stack(args: argparse.Namespace, client: RegistryClient, out: TextIO) -> int:
    declared_plan = plan_stack(stack=args.stack, stack_file=args.stack_file)
    user_images = [image for workload in declared_plan.config.workloads for image in workload.images]
    first = image_needs(declared_plan)
    results = _read(args, client, [need.image for need in first] + args.image)
    by_image = {result.image: result for result in results}
    # Placement of the user's workloads, and of add-on workloads whose values name another image than
    # the declared one, follows the platforms just read, not what the config declared.
    declared = {image for _, image, _ in addon_images()}
    judged = user_images + [need.image for need in first if need.image not in declared]
    read_arches = {
        image: frozenset(arch for arch in Arch if by_image[image].has_arch(arch))
        for image in judged
        if by_image[image].error is None
    }
    plan = plan_stack(stack=args.stack, stack_file=args.stack_file, image_arches=read_arches)
    needs = image_needs(plan)
    # Placement moves images between pools, so this should be empty; if not, read them rather than fail.
    late = [need.image for need in needs if need.image not in by_image]
    if late:
        more = _read(args, client, late)
        results += more
        by_image.update({result.image: result for result in more})
    verdicts = stack_verdicts(needs, [by_image[need.image] for need in needs])
    # --image next to a stack: reported too, as plain image results (no pool needs them).
    in_stack = {need.image for need in needs}
    extras = [by_image[image] for image in dict.fromkeys(args.image) if image not in in_stack]
    if args.format == "json":
        _dump([verdict.to_json() for verdict in verdicts] + [_extra_json(result) for result in extras], out)
    else:
        out.write(readiness_table([verdict.result for verdict in verdicts]))
        if extras:
            out.write("\nAlso asked for with --image (not judged against the stack's pools):\n")
            out.write(readiness_table(extras))
        failing = [verdict for verdict in verdicts if not verdict.ok]
        if failing:
            out.write("\nCannot run where the topology needs it:\n")
            out.write(
                render_table(
                    ("image", "used by", "pools without a build (or unread)"),
                    [
                        (verdict.need.image, ", ".join(verdict.need.used_by), _failing_pools(verdict))
                        for verdict in failing
                    ],
                )
                + "\n"
            )
    _say_if_offline(results)
    ok = all(verdict.ok for verdict in verdicts) and all(result.error is None for result in extras)
    return 0 if ok else 1


def _extra_json(result: ImagePlatforms) -> dict[str, object]:
    """An image named with --image that the stack does not run: the keys of a verdict, but no pool
    needs it, so ``pools`` and ``ok`` are null (its ``error``, if any, still fails the run)."""
    return {**result.to_json(), "used_by": [], "pools": None, "ok": None}


def _failing_pools(verdict: ImageVerdict) -> str:
    missing = [name for name, ok in verdict.per_pool.items() if ok is not True]
    return ", ".join(missing) if missing else "(needed on no pool, but could not be read)"


def _check_declarations(args: argparse.Namespace, client: RegistryClient, out: TextIO) -> int:
    results = _read(args, client, [image for _, image, _ in addon_images()])
    mismatches = declaration_mismatches(results)
    if args.format == "json":
        _dump([{"release": m.release, "image": m.image, "problem": str(m)} for m in mismatches], out)
    else:
        out.write(
            "\n".join(map(str, mismatches)) + "\n"
            if mismatches
            else "Every add-on image matches its module.\n"
        )
    _say_if_offline(results)
    return 1 if mismatches else 0


def _say_if_offline(results: list[ImagePlatforms]) -> None:
    unread = [result for result in results if result.error_kind in NETWORK_ERROR_KINDS and not result.stale]
    if unread and len(unread) == len([r for r in results if not r.from_cache]):
        print(
            f"No registry could be reached for {len(unread)} image(s): they are reported as unknown, never as "
            "ready. Run again with network access, or rely on a cache from an earlier run.",
            file=sys.stderr,
        )


def _dump(document: object, out: TextIO) -> None:
    json.dump(document, out, indent=2)
    out.write("\n")
