"""Progress on long work, for a person at a terminal: one line on stderr, redrawn in place.

Writes nothing unless the stream is a terminal and the output is for people, so piped output, CI logs
and ``--format json`` hold only the report. The line is erased when done, so what follows starts clean.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int, str], None]
"""``(done, total, what)``: how far, and the item just finished or now started."""


def terminal_progress(
    stream: TextIO, *, label: str, enabled: bool = True, width: int = 30, verb: str = ""
) -> Progress:
    """Draws ``[#####-----] 3/10 images  docker.io/library/nginx:1.29`` on one line of ``stream``."""
    try:
        interactive = enabled and stream.isatty()
    except (AttributeError, ValueError):  # closed or fake streams
        interactive = False
    drawn = 0

    def update(done: int, total: int, what: str) -> None:
        nonlocal drawn
        if not interactive or total <= 0:
            return
        done = min(max(done, 0), total)
        filled = width * done // total
        text = f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} {label}"
        if what:
            text += f"  {verb}{what}"
        # A line longer than the terminal wraps, and the next redraw leaves the wrapped part behind.
        text = text[: max(shutil.get_terminal_size().columns - 1, 20)]
        if done >= total:
            stream.write("\r" + " " * max(drawn, len(text)) + "\r")
            drawn = 0
        else:
            stream.write("\r" + text.ljust(drawn))
            drawn = len(text)
        stream.flush()

    return update
