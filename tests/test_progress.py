"""Progress on long work: drawn on a terminal only, quiet when piped or with --format json."""

from __future__ import annotations

import io
import json

import pytest

from armful.cli import plan_command
from armful.cli.main import main
from armful.cli.progress import terminal_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_what_it_is_doing_only_on_a_terminal() -> None:
    terminal = FakeTerminal()
    update = terminal_progress(terminal, label="images read", width=10)
    update(0, 4, "")
    update(2, 4, "docker.io/library/nginx:1.29")
    assert terminal.getvalue().endswith("\r[#####-----] 2/4 images read  docker.io/library/nginx:1.29")
    update(4, 4, "quay.io/x:1")
    assert terminal.getvalue().endswith("\r")  # erased, so the report starts on a clean line
    assert "4/4" not in terminal.getvalue()

    # Piped, or asked to be quiet (--format json) even on a terminal: nothing is drawn.
    for stream, enabled in ((io.StringIO(), True), (FakeTerminal(), False)):
        quiet = terminal_progress(stream, label="images", enabled=enabled)
        for done in range(5):
            quiet(done, 4, "image")
        assert stream.getvalue() == ""


def test_progress_ignores_empty_runs() -> None:
    terminal = FakeTerminal()
    terminal_progress(terminal, label="images")(0, 0, "")
    assert terminal.getvalue() == ""


def _render_as_if(monkeypatch: pytest.MonkeyPatch, charts: list[str]) -> None:
    """plan --render without Helm: a renderer that reports each chart to the progress callback."""

    def fake_render(plan, *, on_progress=None, **_: object):  # type: ignore[no-untyped-def]
        for done, chart in enumerate(charts):
            on_progress(done, len(charts), chart)
        on_progress(len(charts), len(charts), "")
        return [], [], []

    monkeypatch.setattr(plan_command, "render_plan", fake_render)


def test_plan_render_says_chart_by_chart_what_it_renders_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    _render_as_if(monkeypatch, ["falco 9.1.0", "kyverno 3.9.0"])
    main(["plan", "--stack", "all-arm", "--render"])
    assert "1/2 charts rendered  rendering kyverno 3.9.0" in terminal.getvalue()

    capsys.readouterr()
    quiet = FakeTerminal()
    monkeypatch.setattr("sys.stderr", quiet)
    main(["plan", "--stack", "all-arm", "--render", "--format", "json"])
    assert quiet.getvalue() == "", "--format json stays quiet even on a terminal"
    assert json.loads(capsys.readouterr().out)["stack"] == "all-arm"
