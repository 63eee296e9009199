"""What the render tests share: the real pinned archives (skipped with a reason where absent), the
in-repository test charts, and an HTTP chart repository on 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from example_stacks import ROOT

SDK_REASON = "rendering charts needs helm-python-sdk: pip install -r requirements-pins.txt"
CHARTS = Path(__file__).parent / "charts"


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


def sha256(path: Path) -> str:
    """``sha256:<hex>`` of a file, computed here rather than by the code under test."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def chart_repository(folder: Path) -> Iterator[str]:
    """An HTTP chart repository on 127.0.0.1 serving ``folder``, with the index ``helm repo index`` writes."""
    import helm_python

    helm_python.repo_index_generate(folder)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
