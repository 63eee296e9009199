"""Where Armful keeps what it fetched (image platforms, chart archives), and the per-user secret that
lets it recognise what it wrote itself.

The secret lives in the config directory, not beside the cache: CI systems save and restore
``~/.cache`` between jobs (and between branches), so a restored cache must not bring the key that would
make its entries trusted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
from pathlib import Path

SECRET_BYTES = 32


class UserSecretError(Exception):
    """A secret file exists but cannot be trusted or read; the message says which file and why."""


def armful_cache_dir(kind: str) -> Path:
    """``$XDG_CACHE_HOME/armful/<kind>``, else ``~/.cache/armful/<kind>``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "armful" / kind


def armful_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/armful``, else ``~/.config/armful``."""
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "armful"


def user_secret(path: Path, *, create: bool) -> bytes | None:
    """The secret in ``path``; made on first use when ``create`` (else None while there is none).

    Raises ``UserSecretError`` for a file that is not the user's own regular file, is readable or
    writable by anyone else, or does not hold a secret: such a key may be known to someone else.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        if not create:
            return None
    try:
        _create_secret(path)
    except OSError as exc:
        raise UserSecretError(f"{path} could not be created: {exc.strerror or exc}") from None
    try:
        return _read_secret(path)
    except FileNotFoundError:
        raise UserSecretError(f"{path} vanished right after it was created") from None


def _read_secret(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)  # a symlink could point at another user's file
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserSecretError(f"{path} is a symbolic link, not a file of the user's own") from None
        raise UserSecretError(f"{path} cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UserSecretError(f"{path} is not a regular file")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise UserSecretError(f"{path} belongs to another user (uid {info.st_uid})")
        if info.st_mode & 0o077:
            raise UserSecretError(
                f"{path} is open to other users (mode {stat.S_IMODE(info.st_mode):04o}); delete it and a new "
                "one is made"
            )
        text = handle.read(4 * SECRET_BYTES).strip()
    try:
        secret = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise UserSecretError(f"{path} does not hold a {SECRET_BYTES}-byte hex secret; delete it")
    return secret


def _create_secret(path: Path) -> None:
    """Write a fresh secret to a private temporary file, then hard-link it into place.

    ``link`` never replaces an existing file, so when two runs race the first one's key wins and both
    use it; readers never see a half-written key, and the file is 0600 from its first byte (mkstemp).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".key")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(SECRET_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
