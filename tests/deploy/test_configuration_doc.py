"""docs/configuration.md, which the README calls the list of every setting, against
``oms.settings.Settings``: every setting has a row, and every ``OMS_*`` or ``TEMPORAL_*``
name the page mentions is one the processes read (no stale rows, no typos)."""

from __future__ import annotations

import re
from pathlib import Path

from devtools.dev import DEV_VARIABLES
from oms.settings import ENV_FILE_VARIABLE

from deploy_checks import SDK_TEMPORAL_VARIABLES, setting_variables

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"

# A variable name as the page writes it; a trailing "*" names every variable it begins
# (``OMS_TEMPORAL_*``).
NAME = re.compile(r"\b(?:OMS|TEMPORAL)_[A-Z0-9_]*[A-Z0-9](?:_\*)?")

# What the processes read besides the Settings fields: the dotenv file's name, and the
# ports of make run's embedded Temporal server (the dev launcher's own).
OTHER_VARIABLES = {ENV_FILE_VARIABLE} | DEV_VARIABLES


def table_rows(text: str) -> list[str]:
    """The first cell of every table row of ``text`` (header and rule rows left out)."""
    cells = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells.append(line.split("|")[1])
    return cells


def documented(text: str) -> set[str]:
    """The variables that have a row: named in a table row's first cell."""
    return {name for cell in table_rows(text) for name in NAME.findall(cell)}


def mentioned(text: str) -> set[str]:
    return set(NAME.findall(text))


def known(name: str) -> bool:
    """Whether an OMS process reads ``name`` (for ``X_*``: some variable beginning X_)."""
    variables = setting_variables() | OTHER_VARIABLES | SDK_TEMPORAL_VARIABLES
    if name.endswith("*"):
        return any(v.startswith(name[:-1]) for v in variables)
    return name in variables


def test_every_setting_has_a_row() -> None:
    missing = setting_variables() - documented(DOC.read_text())
    assert not missing, f"settings with no row in docs/configuration.md: {sorted(missing)}"


def test_every_temporal_connection_variable_has_a_row() -> None:
    missing = (SDK_TEMPORAL_VARIABLES | OTHER_VARIABLES) - documented(DOC.read_text())
    assert not missing, f"variables with no row in docs/configuration.md: {sorted(missing)}"


def test_every_variable_the_page_names_is_read() -> None:
    stale = sorted(name for name in mentioned(DOC.read_text()) if not known(name))
    assert not stale, f"docs/configuration.md names variables no process reads: {stale}"


def test_the_checks_see_a_missing_row_and_a_stale_name() -> None:
    page = "| `OMS_DATABASE_URL` | x | y |\n|---|---|---|\n| `OMS_API_PORT` | 8000 | z |\n"
    assert documented(page) == {"OMS_DATABASE_URL", "OMS_API_PORT"}
    assert "OMS_PICK_SLA_S" in setting_variables() - documented(page)
    assert not known("OMS_NO_SUCH_SETTING") and known("OMS_TEMPORAL_*") and not known("OMS_X_*")
    assert mentioned("set `OMS_CODEC_PUBLIC_URL` and `TEMPORAL_TLS`") == {
        "OMS_CODEC_PUBLIC_URL",
        "TEMPORAL_TLS",
    }
