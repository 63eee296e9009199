"""The readiness table and the terminal progress bar."""

from __future__ import annotations

from armful.images.readiness import readiness_table
from armful.images.registry import ErrorKind, ImagePlatforms


def test_table_marks_yes_no_and_unknown() -> None:
    results = [
        ImagePlatforms(
            image="nginx:1.27", digest="sha256:1", platforms=("linux/amd64", "linux/arm64"), error=None
        ),
        ImagePlatforms(
            image="registry.k8s.io/defaultbackend-amd64:1.5",
            digest="sha256:2",
            platforms=("linux/amd64",),
            error=None,
        ),
        ImagePlatforms(
            image="ghcr.io/x/y:v9",
            digest=None,
            platforms=(),
            error="manifest unknown: tag v9 not found in ghcr.io/x/y",
            error_kind=ErrorKind.NOT_FOUND,
        ),
        ImagePlatforms(
            image="quay.io/a/b:1",
            digest="sha256:3",
            platforms=("linux/arm64", "linux/s390x"),
            error=None,
            cached_at=0.0,
            stale=True,
            stale_reason="registry quay.io unreachable: connection refused",
        ),
    ]
    table = readiness_table(results)
    lines = table.splitlines()
    assert lines[0].split() == ["IMAGE", "amd64", "arm64", "NOTE"]
    assert lines[1].split() == ["nginx:1.27", "yes", "yes"]
    assert lines[2].split() == ["registry.k8s.io/defaultbackend-amd64:1.5", "yes", "NO"]
    assert lines[3].split()[:3] == ["ghcr.io/x/y:v9", "?", "?"]
    assert "manifest unknown: tag v9 not found in ghcr.io/x/y" in lines[3]
    assert lines[4].split()[:3] == ["quay.io/a/b:1", "NO", "yes"]
    assert "also linux/s390x" in lines[4] and "stale: cached 1970-01-01 00:00 UTC" in lines[4]
    # Columns line up: every row's second column starts at the same offset.
    offset = lines[0].index("amd64")
    assert all(line[offset - 2 : offset] == "  " for line in lines[1:5])
    assert lines[-1] == "4 images: 2 with arm64, 1 without arm64, 1 unknown (1 from a stale cache)"
