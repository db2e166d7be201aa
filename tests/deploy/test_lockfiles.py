"""requirements/*.txt (pip-compile's lockfiles: the Dockerfile installs core or reports, make
run and make test, and so CI, install under dev's pins) agree with pyproject.toml: every
direct dependency is pinned there, at a version its range admits. A change to pyproject
without `make lock` fails here."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Lockfile -> the extras it was compiled with (Makefile, `make lock`).
LOCKS = {
    "core": (),
    "reports": ("reports",),
    "dev": ("dev", "devserver", "reports", "bench"),
}


def pins(lock: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of ``requirements/<lock>.txt``."""
    found = {}
    for line in (ROOT / "requirements" / f"{lock}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        # No path or URL of the machine that compiled it (the project itself is not pinned).
        assert "@" not in line and "file:" not in line, f"requirements/{lock}.txt: {line!r}"
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
        if canonicalize_name(requirement.name) == "temporal-oms":
            continue  # dev's own extras, listed in LOCKS
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"requirements/{lock}.txt lacks {name}: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={pinned[name]}, outside {text!r}: make lock"
        )


def test_core_lock_is_the_reports_lock_minus_the_reports_stack() -> None:
    core, reports, dev = pins("core"), pins("reports"), pins("dev")
    assert core.items() <= reports.items() <= dev.items(), "the lockfiles disagree on a pin"
    assert {"numpy", "pandas", "matplotlib", "statsmodels"} <= reports.keys() - core.keys()
