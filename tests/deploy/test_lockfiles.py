"""requirements/*.txt (pip-compile's lockfiles, which the Dockerfile installs) agree with
pyproject.toml: every direct dependency is pinned there, at a version its range admits.
A change to pyproject without `make lock` fails here."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Lockfile -> the extras it was compiled with (Makefile, `make lock`).
LOCKS = {"core": (), "reports": ("reports",)}


def pins(lock: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of ``requirements/<lock>.txt``."""
    found = {}
    for line in (ROOT / "requirements" / f"{lock}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements/{lock}.txt: {line!r} is not pinned"
            found[canonicalize_name(name)] = version.strip()
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lockfile_pins_every_dependency_within_its_range(lock: str) -> None:
    pinned = pins(lock)
    wanted = list(PROJECT["dependencies"])
    for extra in LOCKS[lock]:
        wanted += PROJECT["optional-dependencies"][extra]
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"requirements/{lock}.txt lacks {name}: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={pinned[name]}, outside {text!r}: make lock"
        )


def test_core_lock_is_the_reports_lock_minus_the_reports_stack() -> None:
    core, reports = pins("core"), pins("reports")
    assert core.items() <= reports.items(), "the two lockfiles disagree on a shared pin"
    assert {"numpy", "pandas", "matplotlib", "statsmodels"} <= reports.keys() - core.keys()
