"""The values schemas the pinned charts ship, checked offline on every release's final values.

Helm validates a chart's ``values.schema.json`` against the chart's defaults merged with the values it is
given, and refuses the install when they do not match: cert-manager's schema, for one, allows no key it
does not list (``webhook.replicas`` fails; its key is ``replicaCount``). Armful ships a copy of each
pinned chart's schema and default values (``armful/addons/schemas/<chart>-<version>.json`` and
``.values.yaml``, byte for byte the chart's), so ``plan`` refuses the same values with the schema's reason,
naming the key, with no network and no Helm.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for

from armful.addons.spec import AddonSpec
from armful.core.errors import ConfigIssue, config_path

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "addons" / "schemas"
"""Package data of ``armful.addons`` (pyproject's package-data ships it)."""


def schema_file(chart: str, version: str) -> Path:
    return SCHEMAS_DIR / f"{chart}-{version}.json"


def defaults_file(chart: str, version: str) -> Path:
    return SCHEMAS_DIR / f"{chart}-{version}.values.yaml"


@cache
def _validator(chart: str, version: str) -> jsonschema.protocols.Validator | None:
    path = schema_file(chart, version)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    # Helm reads the draft a schema names and takes 2020-12 for one that names none it knows.
    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


# libyaml's loader where PyYAML has it: the pure-Python one takes ten times as long on these files,
# which every plan reads.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _defaults(chart: str, version: str) -> dict[str, Any]:
    return yaml.load(defaults_file(chart, version).read_text(encoding="utf-8"), Loader=_LOADER) or {}


def has_schema(spec: AddonSpec) -> bool:
    return schema_file(spec.chart, spec.version).is_file()


def coalesce(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values Helm validates: maps merged key by key over the chart's defaults; a null removes the key."""
    merged = dict(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = coalesce(merged[key], value)
        elif isinstance(value, Mapping):
            merged[key] = coalesce({}, value)
        else:
            merged[key] = value
    return merged


def schema_issues(spec: AddonSpec, values: Mapping[str, Any]) -> list[ConfigIssue]:
    """What the chart's schema refuses in these final values (placeholders written as text), each at its
    key under ``addons.<key>.values``; nothing for a chart that ships no schema."""
    validator = _validator(spec.chart, spec.version)
    if validator is None:
        return []
    document = coalesce(_defaults(spec.chart, spec.version), values)
    issues = []
    errors = sorted(validator.iter_errors(document), key=lambda error: [str(p) for p in error.absolute_path])
    for error in errors:
        for path, problem, fix in _described(error):
            issues.append(
                ConfigIssue(
                    config_path("addons", spec.key, "values", *path),
                    f"the values schema of {spec.chart} {spec.version} refuses this: {problem} (Helm would "
                    "refuse the install)",
                    fix,
                )
            )
    return issues


_LISTED = 12
"""Keys a message lists when it says which ones a map takes."""


def _described(error: ValidationError) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(error.schema.get("properties") or {})
        patterns = [re.compile(p) for p in error.schema.get("patternProperties") or {}]
        for key in error.instance:
            if key in allowed or any(p.search(str(key)) for p in patterns):
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1)
            listed = ", ".join(allowed[:_LISTED]) + (", ..." if len(allowed) > _LISTED else "")
            fix = f"use {close[0]}, the key the schema has" if close else f"remove it (keys there: {listed})"
            where = ".".join(map(str, path)) or "the top level"
            yield (*path, str(key)), f"{where} has no key {key!r}", fix
        return
    yield path, error.message, "give a value the chart's values.schema.json allows"
