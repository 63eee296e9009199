"""checkov judges the IAM policies Armful creates: CKV_AWS_290 (no write access without constraints) and
CKV_AWS_355 (no ``*`` resource for an action that has a resource type).

The policies are the inline role policies the stack program registers for each example stack (under
mocks), written as Terraform ``aws_iam_role_policy`` resources, where checkov has both checks. A policy
may skip a check only for the statements its module names with the reason (``UNSCOPABLE_STATEMENTS``):
the skip carries that reason, and the same policy without those statements must pass. AWS managed
policies Armful attaches (node role, EBS CSI driver, X-Ray) are AWS's, not Armful's, and are not here.

checkov lives in .venv-checkov (scripts/setup makes it; its pins conflict with Pulumi's), and runs once
for all policies: about 6 s, most of it checkov's start.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from example_stacks import EXAMPLE_STACKS, ROOT
from test_stack_program import _program

from armful.addons import aws_load_balancer_controller as alb

CHECKS = ("CKV_AWS_290", "CKV_AWS_355")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
CHECKOV = Path(os.environ.get("ARMFUL_CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
# Which policy's statements may be skipped, and why: the module that writes the policy says.
UNSCOPABLE = {"aws-load-balancer-controller": alb.UNSCOPABLE_STATEMENTS}


def _checkov() -> Path:
    if CHECKOV.exists():
        return CHECKOV
    reason = f"checkov not found at {CHECKOV}: run ./scripts/setup (or set ARMFUL_CHECKOV)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _policies() -> dict[str, tuple[str, dict[str, Any]]]:
    """Terraform resource name → (the add-on's release, the policy document), for every example stack."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for stack in EXAMPLE_STACKS:
        for registered in _program(stack).mocks.of_type(ROLE_POLICY):
            release = next(r for r in (*UNSCOPABLE, "fluent-bit", "karpenter") if r in registered.name)
            found[f"{stack}_{release}".replace("-", "_")] = (release, json.loads(registered.inputs["policy"]))
    return found


def _resource(name: str, document: dict[str, Any], skips: dict[str, str]) -> str:
    lines = [f'resource "aws_iam_role_policy" "{name}" {{']
    lines += [f"  #checkov:skip={check}:{reason}" for check, reason in skips.items()]
    lines += [
        f'  name   = "{name}"',
        '  role   = "armful"',
        "  policy = <<POLICY",
        json.dumps(document, indent=2),
    ]
    lines += ["POLICY", "}", ""]
    return "\n".join(lines)


@cache
def _scan(directory: str) -> dict[str, Any]:
    """checkov's JSON report on the policies, each once as created and, where statements are skipped,
    once without them under the name ``<name>_rest``."""
    resources = []
    for name, (release, document) in _policies().items():
        unscopable = UNSCOPABLE.get(release, {})
        skips = {check: reason for check, reason in unscopable.values()}
        resources.append(_resource(name, document, skips))
        if unscopable:
            rest = {
                **document,
                "Statement": [s for s in document["Statement"] if s.get("Sid") not in unscopable],
            }
            resources.append(_resource(f"{name}_rest", rest, {}))
    (Path(directory) / "main.tf").write_text("\n".join(resources))
    done = subprocess.run(
        [
            str(_checkov()),
            "-d",
            directory,
            "--framework",
            "terraform",
            "--check",
            ",".join(CHECKS),
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # checkov leaves a value longer than CHECKOV_RENDER_MAX_LEN (10,000) unparsed and its checks UNKNOWN.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RENDER_MAX_LEN": "0"},
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    _checkov()
    return _scan(str(tmp_path_factory.mktemp("checkov-iam")))


def _results(report: dict[str, Any], kind: str) -> set[tuple[str, str, str]]:
    return {
        (
            result["resource"].removeprefix("aws_iam_role_policy."),
            result["check_id"],
            (result.get("check_result") or {}).get("suppress_comment", ""),
        )
        for result in report.get("results", {}).get(kind, [])
    }


def test_every_policy_armful_creates_was_scanned(report: dict[str, Any]) -> None:
    names = set(_policies())
    assert {release for release, _ in _policies().values()} == {
        "aws-load-balancer-controller",
        "fluent-bit",
        "karpenter",
    }
    scanned = {name for name, _, _ in _results(report, "passed_checks") | _results(report, "skipped_checks")}
    scanned |= {name for name, _, _ in _results(report, "failed_checks")}
    assert scanned == names | {
        f"{name}_rest" for name, (release, _) in _policies().items() if release in UNSCOPABLE
    }


def test_no_policy_fails_either_check(report: dict[str, Any]) -> None:
    assert _results(report, "failed_checks") == set()


def test_only_the_named_statements_are_skipped_and_the_rest_passes(report: dict[str, Any]) -> None:
    skipped = _results(report, "skipped_checks")
    expected = set()
    for name, (release, _) in _policies().items():
        for check, reason in UNSCOPABLE.get(release, {}).values():
            expected.add((name, check, reason))
    assert skipped == expected
    passed = {(name, check) for name, check, _ in _results(report, "passed_checks")}
    for name, check, _ in expected:
        assert (f"{name}_rest", check) in passed
    for name in _policies():
        for check in CHECKS:
            assert (name, check) in passed or (name, check) in {(n, c) for n, c, _ in skipped}
