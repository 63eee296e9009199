"""Stack files as a careless, hurried or hostile user writes them, fed to ``plan`` and to the stack program.

``plan`` reads a stack file; the stack program gets the config from Pulumi, which has read that file with
Go's yaml.v3 and hands the program every value as a string, maps and lists as JSON. ``pulumi_view`` is
this test suite's own model of that hand-over (written from Pulumi's ``resource/config.Value``), kept
apart from Armful's (``planning.stack_file``) so that the tests compare two readings, not one.
"""

from __future__ import annotations

import asyncio
import copy
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from example_stacks import GRAFANA_PASSWORD, ROOT, stack_file_config
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from pulumi_harness import RecordingMocks, run_program

from armful.core.errors import StackConfigError
from armful.planning.plan import PlanError
from armful.planning.stack_plan import plan_stack
from armful.run_errors import ArmfulRunError

PROGRAM = ROOT / "__main__.py"
GRAFANA_KEY = "armful:grafanaAdminPassword"
# What `pulumi config set --secret` writes into the stack file; the program gets it decrypted.
ENCRYPTED = {"secure": "v1:c2FsdA==:ZW5jcnlwdGVkLXRlc3QtcGFzc3dvcmQ="}


def example_config(stack: str, *, with_password: bool = True) -> dict[str, Any]:
    """An example stack's ``config:`` as its file holds it, the Grafana password set with --secret."""
    config = copy.deepcopy(stack_file_config(stack))
    if with_password:
        config[GRAFANA_KEY] = dict(ENCRYPTED)
    return config


class _QuotingDumper(yaml.SafeDumper):
    """Every string double-quoted: what a string is stays a string for any YAML reader."""


_QuotingDumper.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
)


def write_stack_file(folder: Path, stack: str, config: dict[str, Any]) -> Path:
    path = folder / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.dump({"config": config}, Dumper=_QuotingDumper, allow_unicode=True, sort_keys=False))
    return path


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _decrypted(value: Any) -> Any:
    if _is_secure(value):
        return GRAFANA_PASSWORD
    if isinstance(value, dict):
        return {key: _decrypted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decrypted(item) for item in value]
    return value


def _has_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, dict):
        return any(_has_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secure(item) for item in value)
    return False


def _scalar_text(value: Any) -> str:
    """A top-level scalar as Pulumi reads it into a string: the text the file holds for it."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pulumi_view(config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """(the config Pulumi gives the program, the keys it marks secret) for a stack file's ``config:``."""
    given, secret = {}, []
    for key, value in config.items():
        if _has_secure(value):
            secret.append(key)
        value = _decrypted(value)
        given[key] = (
            json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else _scalar_text(value)
        )
    return given, secret


@dataclass
class Outcome:
    """What a stack came to: accepted ("ok"), refused for its config ("config"), or planned with error
    findings ("findings")."""

    kind: str
    message: str = ""
    findings: frozenset[tuple[str, str]] = frozenset()
    error: BaseException | None = None


def plan_outcome(path: Path) -> Outcome:
    """``armful plan``'s reading of a stack file; anything but StackConfigError propagates."""
    try:
        plan = plan_stack(stack_file=path)
    except StackConfigError as error:
        return Outcome("config", str(error), error=error)
    errors = frozenset((f.code, f.message) for f in plan.findings if f.level.value == "error")
    if not errors:
        return Outcome("ok")
    # What ArmCluster raises for the same findings, to compare word for word.
    return Outcome("findings", str(PlanError(plan.findings)), errors)


def _zones_of(region: str) -> dict[str, str]:
    zones = RegionsAndZonesBackend.zones.get(region) or RegionsAndZonesBackend.zones["us-west-2"]
    return {zone.name: zone.zone_id for zone in zones}


@dataclass
class ProgramRun:
    outcome: Outcome
    mocks: RecordingMocks
    namespace: dict[str, Any] = field(default_factory=dict)


def program_outcome(stack: str, config: dict[str, Any]) -> ProgramRun:
    """The stack program under mocks, given the config as Pulumi would; anything but Armful's RunError
    propagates. The mocks answer AZs as EC2 does in the stack's region."""
    given, secret = pulumi_view(config)
    region = given.get("aws:region", "")
    mocks = RecordingMocks(availability_zones=_zones_of(region))
    namespace: dict[str, Any] = {}

    def program() -> None:
        # A failed program leaves outputs holding its error; asyncio would log each when they are freed.
        asyncio.get_event_loop().set_exception_handler(_ignore_unretrieved)
        namespace.update(runpy.run_path(str(PROGRAM)))

    try:
        run_program(program, given, mocks, stack=stack, secret_keys=secret)
    except ArmfulRunError as error:
        if isinstance(error, PlanError):
            findings = frozenset((f.code, f.message) for f in error.findings)
            return ProgramRun(Outcome("findings", str(error), findings, error), mocks)
        assert isinstance(error, StackConfigError), f"{type(error).__mro__}: {error}"
        return ProgramRun(Outcome("config", str(error), error=error), mocks)
    return ProgramRun(Outcome("ok"), mocks, namespace)


def _ignore_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if "never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)
