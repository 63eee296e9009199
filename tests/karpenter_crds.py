"""Karpenter's CRDs as the pinned chart ships them, and a check of objects against them as the API server
makes it: the OpenAPI schema (types, enums, patterns, bounds, required fields) and the CEL rules
(``x-kubernetes-validations``) of every field the object sets.

Rules that compare with ``oldSelf`` judge updates, not creation, and are left out. Kubernetes' CEL adds
string functions to the standard library; the two the Karpenter CRDs use, ``find`` and ``split``, are
given here with Kubernetes' meaning.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from chart_archives import chart_archives_dir

KARPENTER_ARCHIVE = "karpenter-1.14.1.tgz"
CRD_FILES = {
    "NodePool": "karpenter/crds/karpenter.sh_nodepools.yaml",
    "EC2NodeClass": "karpenter/crds/karpenter.k8s.aws_ec2nodeclasses.yaml",
}


def archive() -> Path | None:
    """The pinned chart's archive, where the chart archives are."""
    path = chart_archives_dir() / KARPENTER_ARCHIVE
    return path if path.is_file() else None


@cache
def crd_schema(kind: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of the served version of a Karpenter CRD, from the chart archive."""
    path = archive()
    assert path is not None
    with tarfile.open(path) as bundle:
        member = bundle.extractfile(CRD_FILES[kind])
        assert member is not None
        crd = yaml.safe_load(member.read())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("served") and v.get("storage")]
    return version["schema"]["openAPIV3Schema"]


def _find(text: celpy.celtypes.StringType, pattern: celpy.celtypes.StringType) -> celpy.celtypes.StringType:
    match = re.search(str(pattern), str(text))
    return celpy.celtypes.StringType(match.group(0) if match else "")


def _split(text: celpy.celtypes.StringType, separator: celpy.celtypes.StringType) -> celpy.celtypes.ListType:
    return celpy.celtypes.ListType(
        [celpy.celtypes.StringType(part) for part in str(text).split(str(separator))]
    )


_FUNCTIONS = {"find": _find, "split": _split}


@cache
def _program(rule: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule), functions=_FUNCTIONS)


def _rules_along(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[tuple[str, str, str, Any]]:
    """(path, rule, message, value) for every CEL rule that applies where the object has a value."""
    for validation in schema.get("x-kubernetes-validations") or ():
        if "oldSelf" not in validation["rule"]:
            yield path, validation["rule"], validation.get("message", ""), value
    if isinstance(value, Mapping):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            child = properties.get(key) or (extra if isinstance(extra, Mapping) else None)
            if child is not None:
                yield from _rules_along(child, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _rules_along(schema["items"], item, f"{path}[{index}]")


def crd_problems(obj: Mapping[str, Any]) -> list[str]:
    """What the API server would refuse in ``obj``, a NodePool or EC2NodeClass; empty when it accepts it."""
    schema = crd_schema(obj["kind"])
    problems = [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in jsonschema.Draft7Validator(schema).iter_errors(obj)
    ]
    for path, rule, message, value in _rules_along(schema, obj, obj["kind"]):
        result = _program(rule).evaluate({"self": celpy.json_to_cel(value)})
        if result is not True and not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            problems.append(f"{path}: {message or rule} (rule {rule!r} gave {result!r})")
    return problems
