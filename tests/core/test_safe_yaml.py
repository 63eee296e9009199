"""The one loader for stack and project files: bounded, strictly UTF-8, no repeated keys, read as Pulumi
reads YAML. These rules are ``plan``'s: the stack program never sees the file (Pulumi's CLI reads it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from armful.cli.main import main
from armful.core import safe_yaml
from armful.core.errors import StackConfigError
from armful.planning.stack_file import read_stack_file

VALID = b"""config:
  aws:region: us-west-2
  armful:topology: arm-workers
"""


def _billion_laughs(levels: int) -> bytes:
    lines = [
        "config:",
        "  armful:addons:",
        "    falco:",
        "      values:",
        '        l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for level in range(1, levels + 1):
        lines.append(f"        l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return ("\n".join(lines) + "\n").encode()


def _plan_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> str:
    path = tmp_path / "Pulumi.hostile.yaml"
    path.write_bytes(data)
    assert main(["plan", "--stack-file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "Fix: " in captured.err
    return captured.err.replace(str(path), "FILE")


# id: (file bytes, words of the error)
FILE_RULES: dict[str, tuple[bytes, list[str]]] = {
    "alias-bomb": (_billion_laughs(9), ["FILE: line 9: this holds more than 50,000 values once its aliases"]),
    "alias-cycle": (b"config:\n  armful:workloads: &w [*w]\n", ["FILE: line 2: an alias (*name) refers to"]),
    "too-large": (VALID + b"#" * safe_yaml.MAX_BYTES, ["FILE: the file is", "at most 1,048,576 bytes"]),
    "too-deep": (
        b"config:\n  armful:addons: " + b"[" * 400 + b"]" * 400 + b"\n",
        ["FILE: ", "more than 64 levels"],
    ),
    "not-utf8": (
        VALID + b'  armful:preferredArch: "caf\xe9"\n',
        ["FILE: byte 0xe9 at line 4, column 29 is not UTF-8"],
    ),
    "utf16": ("config:\n  aws:region: x\n".encode("utf-16"), ["FILE: ", "UTF-16 byte-order mark"]),
    "repeated-key": (
        VALID + b"  armful:topology: mixed\n",
        ["FILE: line 4: key 'armful:topology' is given twice in this map (first at line 3)"],
    ),
    "repeated-nested-key": (
        VALID + b"  armful:cluster:\n    name: a\n    name: b\n",
        ["FILE: line 6: key 'name' is given twice"],
    ),
    "tag": (
        VALID + b"  armful:cluster: !!binary aGVsbG8=\n",
        ["FILE: line 4: tag !!binary is not plain data"],
    ),
    "control-character": (VALID + b"  armful:preferredArch: \x07\n", ["FILE: line 4: character #x0007"]),
    "syntax": (VALID + b"  armful:cluster: [1, 2\n", ["FILE: not valid YAML: line 5", "expected ',' or ']'"]),
    "no-namespace": (
        VALID + b"  topology: mixed\n",
        ["FILE: line 4: config key 'topology' has no namespace"],
    ),
    "no-config": (b"aws:region: us-west-2\n", ["FILE: config: the file has no config map"]),
    "nan": (VALID + b"  armful:cluster: {name: .nan}\n", ["armful:cluster: nan", "JSON cannot hold"]),
}


@pytest.mark.parametrize(("data", "words"), FILE_RULES.values(), ids=FILE_RULES.keys())
def test_plan_refuses_the_file_with_the_rule_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, words: list[str]
) -> None:
    started = time.monotonic()
    message = _plan_error(tmp_path, capsys, data)
    assert time.monotonic() - started < 5
    for word in words:
        assert word in message, message


def test_a_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    data = _billion_laughs(9)
    assert len(data) < 2000
    path = tmp_path / "Pulumi.bomb.yaml"
    path.write_bytes(data)
    started = time.monotonic()
    with pytest.raises(StackConfigError):
        read_stack_file(path)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("True", True),
        ("FALSE", False),
        ("1.30", 1.3),
        ("0755", 493),
        ("0o17", 15),
        ("0x1f", 31),
        ("08", 8.0),
        ("1_000", 1000),
        ("1:30", "1:30"),
        ("2026-11-29", "2026-11-29"),
        ("~", None),
        ("", None),
        ("1e3", 1000.0),
    ],
)
def test_scalars_are_read_as_yaml_v3_reads_them(text: str, value: Any) -> None:
    """Pulumi's CLI reads stack files with Go's yaml.v3, not YAML 1.1: yes/on/off stay strings."""
    assert safe_yaml.load(f"key: {text}\n".encode(), "f") == {"key": value}


def test_merge_keys_and_aliases_within_bounds_are_plain_yaml() -> None:
    data = b"base: &base {a: 1, b: 2}\nuse:\n  <<: *base\n  b: 3\nlist: [*base, *base]\n"
    assert safe_yaml.load(data, "f") == {
        "base": {"a": 1, "b": 2},
        "use": {"a": 1, "b": 3},
        "list": [{"a": 1, "b": 2}, {"a": 1, "b": 2}],
    }


def test_keys_that_only_differ_in_type_are_repeated_for_pulumi() -> None:
    """Pulumi writes every map key as text (Go's %v): 1 and "1" would be one key, the last one kept."""
    with pytest.raises(StackConfigError, match="key '1' is given twice"):
        safe_yaml.load(b'labels:\n  1: a\n  "1": b\n', "f")


def test_top_level_scalars_are_read_as_their_text_and_maps_as_go_json(tmp_path: Path) -> None:
    """As Pulumi hands them to the program: a scalar as written, a map with keys as text, sorted."""
    path = tmp_path / "Pulumi.s.yaml"
    path.write_bytes(
        b"config:\n  armful:a: 1.30\n  armful:b: ~\n  armful:c: {z: 1, 2: 2.0, y: [1.5]}\n"
        b"  armful:config:d: x\n  armful:grafanaAdminPassword:\n    secure: v1:abc\n"
    )
    document = read_stack_file(path)
    assert document.config["armful:a"] == "1.30"
    assert document.config["armful:b"] == ""
    assert document.config["armful:c"] == {"2": 2, "y": [1.5], "z": 1}
    assert list(document.config["armful:c"]) == ["2", "y", "z"]
    assert document.config["armful:d"] == "x"
    assert document.secret_keys == frozenset({"armful:grafanaAdminPassword"})


def test_the_project_file_is_read_by_the_same_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_bytes(b"name: x\nname: y\n")
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--stack", "dev"]) == 2
    assert "line 2: key 'name' is given twice" in capsys.readouterr().err


def test_values_from_anywhere_are_held_to_the_same_bounds() -> None:
    deep: Any = "x"
    for _ in range(safe_yaml.MAX_DEPTH + 1):
        deep = [deep]
    assert "nests more than 64" in (safe_yaml.bounds_problem(deep) or "")
    assert "more than 50,000" in (safe_yaml.bounds_problem(list(range(50_001))) or "")
    assert safe_yaml.bounds_problem({"a": [1, 2, {"b": None}]}) is None
