"""What the render tests share besides the pinned archives (``chart_archives``): the in-repository test
charts, and an HTTP chart repository on 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHARTS = Path(__file__).parent / "charts"


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
