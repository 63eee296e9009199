"""Armful as a package others install: what a built wheel carries and what it asks of its consumers.

The wheel test builds offline with setuptools' own backend on a copy of the sources (the working tree
stays clean). It needs a setuptools that can build wheels by itself (70.1 or later) or the ``wheel``
package; the virtualenv's may have neither, so it uses the first Python that can, and skips, saying
what is missing, when none can. The package-data test needs no build and always runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from example_stacks import ROOT
from packaging.requirements import Requirement

from armful.addons.aws_load_balancer_controller import POLICY_FILE
from armful.addons.registry import ADDONS
from armful.planning.chart_schemas import SCHEMAS_DIR, defaults_file, has_schema, schema_file

POLICY = "policies/aws_load_balancer_controller_iam_policy.json"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

_CAN_BUILD_WHEELS = """
import sys
from importlib.util import find_spec
import setuptools
major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
ok = (major, minor) >= (61, 0) and (find_spec("wheel") or find_spec("setuptools.command.bdist_wheel"))
sys.exit(0 if ok else 1)
"""


@cache
def wheel_builder() -> str | None:
    """The first Python here whose setuptools builds a wheel offline: this one, else the machine's."""
    venv_bin = str(Path(sys.executable).parent)
    outside = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    candidates = [sys.executable, shutil.which("python3", path=outside), "/usr/bin/python3"]
    for python in dict.fromkeys(c for c in candidates if c and Path(c).exists()):
        probe = subprocess.run([python, "-c", _CAN_BUILD_WHEELS], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return python
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    python = wheel_builder()
    if python is None:
        pytest.skip(
            "no Python here can build a wheel offline: it needs setuptools>=70.1 or the wheel package "
            "(the package-data test below checks the same configuration without a build)"
        )
    source = tmp_path_factory.mktemp("armful-src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "components", source / "components", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [python, "-c", f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert build.returncode == 0, build.stderr[-2000:]
    return zipfile.ZipFile(out / build.stdout.strip().splitlines()[-1])


def test_a_built_wheel_carries_the_load_balancer_policy(wheel: zipfile.ZipFile) -> None:
    data = wheel.read(f"armful/addons/{POLICY}")
    assert json.loads(data)["Statement"], "the controller's IAM policy, whole"


def test_a_built_wheel_carries_the_chart_schemas_plan_validates_against(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    shipped = [spec for spec in ADDONS if has_schema(spec)]
    assert shipped, "cert-manager and the collector ship values schemas"
    for spec in shipped:
        for path in (schema_file(spec.chart, spec.version), defaults_file(spec.chart, spec.version)):
            member = f"armful/addons/schemas/{path.name}"
            assert member in names, member
            assert wheel.read(member) == path.read_bytes(), member


def test_a_built_wheel_is_apache_licensed_and_carries_the_license(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    headers = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: Apache-2.0" in headers
    (license_file,) = [name for name in wheel.namelist() if name.endswith("licenses/LICENSE")]
    assert "Apache License" in wheel.read(license_file).decode()


def test_a_built_wheel_asks_for_ranges_not_pins(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    requires = [
        line.removeprefix("Requires-Dist: ")
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: ")
    ]
    assert len(requires) == len(PYPROJECT["project"]["dependencies"])
    assert not any("==" in requirement for requirement in requires), requires


def test_the_policy_is_package_data_that_the_code_reads_as_a_resource() -> None:
    """Without a build: setuptools' configuration ships the file, and the code finds it as a resource."""
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert package_data["armful.addons"] == ["policies/*.json", "schemas/*.json", "schemas/*.values.yaml"]
    shipped = sorted(
        path.relative_to(ROOT / "components" / "addons").as_posix()
        for pattern in package_data["armful.addons"]
        for path in (ROOT / "components" / "addons").glob(pattern)
    )
    assert POLICY in shipped
    resource = resources.files("armful.addons").joinpath(POLICY)
    assert json.loads(resource.read_text())["Statement"]
    assert Path(str(resource)) == POLICY_FILE
    # Every schema file the code reads is matched by the patterns, and it reads them from the package.
    assert Path(str(resources.files("armful.addons").joinpath("schemas"))) == SCHEMAS_DIR
    schemas = sorted(path.relative_to(SCHEMAS_DIR.parent).as_posix() for path in SCHEMAS_DIR.iterdir())
    assert schemas and set(schemas) <= set(shipped)


def test_every_source_folder_is_a_listed_package_of_armful() -> None:
    """``armful`` maps to ``components/``; a folder missing from the list would be left out of the wheel."""
    setuptools_config = PYPROJECT["tool"]["setuptools"]
    assert setuptools_config["package-dir"] == {"armful": "components"}
    folders = sorted(
        ".".join(("armful", *init.parent.relative_to(ROOT / "components").parts))
        for init in (ROOT / "components").rglob("__init__.py")
    )
    assert sorted(setuptools_config["packages"]) == folders


def test_library_dependencies_are_ranges_that_the_pins_satisfy() -> None:
    """Consumers resolve ranges with their own dependencies; the stack program and CI use the pins."""
    ranges = {Requirement(line).name: Requirement(line) for line in PYPROJECT["project"]["dependencies"]}
    assert "dependencies" not in PYPROJECT["project"].get("dynamic", [])
    assert all(not any(spec.operator == "==" for spec in req.specifier) for req in ranges.values())
    pins = [
        Requirement(line)
        for line in (ROOT / "requirements-pins.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {pin.name for pin in pins} == set(ranges)
    for pin in pins:
        (spec,) = pin.specifier
        assert spec.operator == "==", f"requirements-pins.txt pins {pin.name} exactly"
        assert ranges[pin.name].specifier.contains(spec.version), (pin.name, spec.version)


def _site_packages(venv: Path) -> Path:
    (found,) = (venv / "lib").glob("python3.*/site-packages")
    return found


@pytest.fixture(scope="module")
def installed_venv(wheel: zipfile.ZipFile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the built wheel installed, as a user's program would have it.

    Its dependencies (pulumi, pydantic, ...) come from this test run's environment through a ``.pth``
    line, which does not run that environment's own ``.pth`` files: the clone's editable ``armful`` is
    not visible there, only the wheel's.
    """
    venv = tmp_path_factory.mktemp("user-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    ours = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "pydantic").is_dir())
    (_site_packages(venv) / "armful-test-dependencies.pth").write_text(f"{ours}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel.filename)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return venv


def test_an_installed_armful_lives_beside_a_programs_own_components_package(
    installed_venv: Path, tmp_path: Path
) -> None:
    program = tmp_path / "program"
    (program / "components").mkdir(parents=True)
    (program / "components" / "__init__.py").write_text("WHOSE = 'the program'\n")
    probe = (
        "import armful, armful.cluster_addons, components; print(armful.__file__); print(components.WHOSE)"
    )
    result = subprocess.run(
        [str(installed_venv / "bin" / "python"), "-c", probe],
        cwd=program, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    armful_file, whose = result.stdout.splitlines()
    assert Path(armful_file).is_relative_to(_site_packages(installed_venv)), (
        "the wheel's armful, not the clone's"
    )
    assert whose == "the program"


def test_the_installed_console_script_plans_the_stacks_of_the_project_it_runs_in(
    installed_venv: Path,
) -> None:
    """``armful plan --stack S`` finds ``stacks/Pulumi.S.yaml`` through the project's ``stackConfigDir``."""
    installed = subprocess.run(
        [str(installed_venv / "bin" / "armful"), "plan", "--stack", "mixed", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    from_clone = subprocess.run(
        [sys.executable, "-m", "armful", "plan", "--stack", "mixed", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert installed.returncode == from_clone.returncode == 0, installed.stderr + from_clone.stderr
    assert json.loads(installed.stdout) == json.loads(from_clone.stdout)
    assert json.loads(installed.stdout)["stack"] == "mixed"
