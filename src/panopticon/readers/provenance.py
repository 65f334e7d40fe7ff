"""What made a run: the code's version and commit, the libraries, the machine, the scenario's hash.

Written into summary.json, so that a figure can be traced to the code and the scenario that gave
it, shown in the report's footer, and compared by ``compare`` (a difference between runs of two
versions of the code is not only the scenarios'). Nothing here may fail a run: what cannot be
known (no git, not a checkout, a package not installed) is None.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

LIBRARIES = ("numpy", "numba", "pyarrow", "duckdb", "pydantic")
NAMES = {"python": "Python", "numpy": "NumPy", "numba": "Numba", "pyarrow": "pyarrow",
         "duckdb": "DuckDB", "pydantic": "pydantic"}


def provenance(scenario_toml: str) -> dict[str, str | bool | None]:
    """The provenance of a run of the resolved scenario ``scenario_toml`` (the text written to
    the folder's scenario.toml; its UTF-8 bytes are hashed)."""
    return {"panopticon": _version("panopticon"), **_git(),
            "python": platform.python_version(),
            **{name: _version(name) for name in LIBRARIES},
            "platform": platform.platform(),
            "scenario_sha256": hashlib.sha256(scenario_toml.encode("utf-8")).hexdigest()}


def code(prov: dict | None) -> tuple[str | None, str | None]:
    """(version, commit) of the code that made a run; what differs between runs compared."""
    prov = prov or {}
    return prov.get("panopticon"), prov.get("commit")


def describe_code(prov: dict | None) -> str:
    """'panopticon 0.1.0 (commit 766f80d, modified)', or that it is unknown."""
    prov = prov or {}
    version, commit = code(prov)
    if version is None and commit is None:
        return "an unknown version of panopticon"
    text = f"panopticon {version or '(version unknown)'}"
    if commit:
        text += f" (commit {commit[:10]}{', modified' if prov.get('dirty') else ''})"
    return text


def describe(prov: dict | None) -> str:
    """One sentence for a reader: the code, the libraries, the machine, the scenario's hash."""
    if not prov:
        return ("Made by an unknown version of panopticon: the run folder predates provenance "
                "(libraries, platform and scenario hash unknown).")
    libraries = ", ".join(f"{label} {prov.get(key) or 'unknown'}" for key, label in NAMES.items())
    return (f"Made by {describe_code(prov)} with {libraries}, on "
            f"{prov.get('platform') or 'an unknown platform'}.")


def scenario_changed(prov: dict | None, sha256: str) -> bool | None:
    """Whether a scenario.toml of hash ``sha256`` differs from the one the run was made with
    (None where the run predates provenance)."""
    recorded = (prov or {}).get("scenario_sha256")
    return None if recorded is None else recorded != sha256


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@cache
def _git() -> dict[str, str | bool | None]:
    """The commit of the git checkout the package was imported from, and whether the
    package's tracked files differ from it; None for both where that cannot be told."""
    package = Path(__file__).resolve().parent
    unknown: dict[str, str | bool | None] = {"commit": None, "dirty": None}
    try:
        # the package must be tracked there: a venv inside some other checkout is not one
        _run_git(package, "ls-files", "--error-unmatch", "--", "__init__.py")
        commit = _run_git(package, "rev-parse", "HEAD").strip()
        changed = _run_git(package, "status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return unknown
    return {"commit": commit, "dirty": bool(changed.strip())}


def _run_git(where: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          check=True, timeout=10).stdout
