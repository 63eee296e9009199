"""Registry credentials from the user's Docker client config, so private images are checked as
``docker pull`` would see them.

Lookup order follows the Docker CLI: a per-registry ``credHelpers`` entry, then the default
``credsStore``, then an inline ``auths`` entry. Helpers are the only way to reach ECR (``ecr-login``),
GCR/Artifact Registry (``gcloud``) and Docker Desktop's keychain, so they are executed as Docker does:
``docker-credential-<name> get`` with the server address on stdin.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armful.images.reference import DOCKER_HUB, DOCKER_HUB_API

# The key the Docker CLI stores Hub credentials under (a v1-era URL, kept for compatibility).
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_HUB_ALIASES = (DOCKER_HUB_SERVER, "index.docker.io", DOCKER_HUB, DOCKER_HUB_API)
# Helpers may prompt or refresh tokens over the network; never let one hang a readiness check.
DEFAULT_HELPER_TIMEOUT = 10.0


@dataclass(frozen=True)
class Credentials:
    """A username/secret pair and where it came from (shown in auth errors, never the secret)."""

    username: str
    secret: str
    source: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, secret=***, source={self.source!r})"


@dataclass(frozen=True)
class CredentialLookup:
    """Outcome of a lookup: credentials, or a note explaining why there are none (for error messages)."""

    credentials: Credentials | None
    note: str


def default_docker_config_path() -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (the Docker CLI's rule)."""
    directory = os.environ.get("DOCKER_CONFIG")
    base = Path(directory) if directory else Path.home() / ".docker"
    return base / "config.json"


def _normalise_server(key: str) -> str:
    """``https://host:port/v1/`` → ``host:port``: ``auths`` keys come in both forms in the wild."""
    text = key.strip()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    return text.split("/", 1)[0].lower()


def _server_keys(domain: str) -> tuple[str, ...]:
    if domain in (DOCKER_HUB, DOCKER_HUB_API, "index.docker.io"):
        return _HUB_ALIASES
    return (domain,)


class DockerCredentials:
    """Reads one Docker config file (lazily, once) and answers lookups per registry domain.

    Thread-safe: the registry client asks from its worker threads, and a helper must run only once per
    registry because some (ecr-login) call a cloud API each time.
    """

    def __init__(
        self, config_path: Path | str | None = None, *, helper_timeout: float = DEFAULT_HELPER_TIMEOUT
    ):
        self._explicit_path = Path(config_path) if config_path is not None else None
        self._helper_timeout = helper_timeout
        self._lock = threading.Lock()
        self._config: dict[str, Any] | None = None
        self._config_note = ""
        self._results: dict[str, CredentialLookup] = {}

    @property
    def config_path(self) -> Path:
        # Resolved on use, not at construction, so DOCKER_CONFIG set later (tests, CLI flags) counts.
        return self._explicit_path or default_docker_config_path()

    def lookup(self, domain: str) -> CredentialLookup:
        """Credentials for ``domain`` (``docker.io``, ``quay.io``, ``127.0.0.1:5000``...)."""
        with self._lock:
            if domain not in self._results:
                self._results[domain] = self._lookup(domain)
            return self._results[domain]

    def _load(self) -> dict[str, Any]:
        if self._config is None:
            path = self.config_path
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                loaded, self._config_note = {}, f"no docker config at {path}"
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                loaded, self._config_note = {}, f"unreadable docker config {path}: {exc}"
            if not isinstance(loaded, dict):
                loaded, self._config_note = {}, f"docker config {path} is not a JSON object"
            self._config = loaded
        return self._config

    def _lookup(self, domain: str) -> CredentialLookup:
        config = self._load()
        if self._config_note:
            return CredentialLookup(None, f"no credentials for {domain} ({self._config_note})")
        keys = _server_keys(domain)
        path = self.config_path

        helpers = config.get("credHelpers")
        if isinstance(helpers, dict):
            for key in keys:
                helper = helpers.get(key)
                if isinstance(helper, str) and helper:
                    return self._run_helper(helper, key)

        notes: list[str] = []
        store = config.get("credsStore")
        if isinstance(store, str) and store:
            found = self._run_helper(store, keys[0])
            if found.credentials:
                return found
            # Unlike Docker we go on to ``auths``: a store that lacks the entry should not hide one
            # that is written in the file.
            notes.append(found.note)

        auths = config.get("auths")
        if isinstance(auths, dict):
            wanted = {_normalise_server(key) for key in keys}
            for key, entry in auths.items():
                if _normalise_server(str(key)) in wanted and isinstance(entry, dict):
                    parsed = _auth_entry(entry, f"auths[{key!r}] in {path}")
                    if parsed.credentials or parsed.note:
                        return parsed
        notes.append(f"no credentials for {domain} in {path}")
        return CredentialLookup(None, "; ".join(notes))

    def _run_helper(self, helper: str, server: str) -> CredentialLookup:
        program = f"docker-credential-{helper}"
        executable = shutil.which(program)
        if executable is None:
            return CredentialLookup(None, f"credential helper {program} not found on PATH")
        try:
            done = subprocess.run(
                [executable, "get"],
                input=server,
                capture_output=True,
                text=True,
                timeout=self._helper_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CredentialLookup(
                None, f"credential helper {program} timed out after {self._helper_timeout:g} s"
            )
        except OSError as exc:
            return CredentialLookup(None, f"credential helper {program} could not run: {exc}")
        if done.returncode != 0:
            # Helpers say "credentials not found in native keychain" on stdout, not stderr.
            detail = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}")[:200]
            return CredentialLookup(None, f"credential helper {program} found nothing for {server}: {detail}")
        try:
            answer = json.loads(done.stdout)
        except json.JSONDecodeError:
            return CredentialLookup(None, f"credential helper {program} printed something other than JSON")
        if not isinstance(answer, dict):
            return CredentialLookup(
                None, f"credential helper {program} printed something other than an object"
            )
        username, secret = answer.get("Username"), answer.get("Secret")
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            return CredentialLookup(None, f"credential helper {program} returned no secret for {server}")
        return CredentialLookup(Credentials(username, secret, program), "")


def _auth_entry(entry: dict[str, Any], source: str) -> CredentialLookup:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return CredentialLookup(None, f"{source}: 'auth' is not base64 of user:password")
        username, colon, secret = decoded.partition(":")
        if not colon:
            return CredentialLookup(None, f"{source}: 'auth' is not base64 of user:password")
        return CredentialLookup(Credentials(username, secret, source), "")
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(password, str) and password:
        return CredentialLookup(Credentials(user, password, source), "")
    # Docker Desktop leaves empty ``{}`` entries as markers of what its store holds: not an error.
    return CredentialLookup(None, "")
