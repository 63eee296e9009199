"""The real pinned charts every rendering test reads, in ``../shared/chart-archives`` (or
ARMFUL_CHART_ARCHIVES_DIR); a test that needs them skips, naming the folder, where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from example_stacks import ROOT

SDK_REASON = "rendering charts needs helm-python-sdk: pip install -r requirements-pins.txt"


def chart_archives_dir() -> Path:
    default = ROOT.parent / "shared" / "chart-archives"
    return Path(os.environ.get("ARMFUL_CHART_ARCHIVES_DIR", default))


def chart_archives() -> Path:
    folder = chart_archives_dir()
    if not (folder / "SHA256SUMS").is_file():
        pytest.skip(
            f"pinned chart archives not found: {folder} "
            "(set ARMFUL_CHART_ARCHIVES_DIR to the chart-archives folder)"
        )
    return folder
