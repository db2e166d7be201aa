"""The dotenv file the settings read: ``.env`` in the working directory, or the one
``OMS_ENV_FILE`` names; none in the tests, so a developer's ``.env`` never reaches them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from oms.settings import Settings, load_settings

DEFAULT_URL = Settings.model_fields["database_url"].default


@pytest.fixture(autouse=True)
def no_exported_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """What these tests write into dotenv files is not also exported by the shell."""
    monkeypatch.delenv("OMS_TOKEN", raising=False)
    monkeypatch.delenv("OMS_DATABASE_URL", raising=False)


def write_env(path: Path) -> Path:
    path.write_text("OMS_TOKEN=from-dotenv\nOMS_DATABASE_URL=sqlite:///dotenv.db\n")
    return path


def test_the_tests_ignore_a_dotenv_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.database_url == DEFAULT_URL
    assert settings.token == "dev-admin"
    assert "token" not in settings.model_fields_set
    # tests/conftest.py; the processes the tests start inherit it.
    assert os.environ["OMS_ENV_FILE"] == os.devnull


def test_oms_env_file_names_the_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMS_ENV_FILE", str(write_env(tmp_path / "oms.env")))
    settings = Settings()
    assert settings.database_url == "sqlite:///dotenv.db"
    assert settings.api_token() == "from-dotenv"
    # The environment wins over the file, and a file given in code over OMS_ENV_FILE.
    monkeypatch.setenv("OMS_TOKEN", "from-environment")
    assert Settings().token == "from-environment"
    assert Settings(_env_file=None).database_url == DEFAULT_URL
    # Empty: no file.
    monkeypatch.setenv("OMS_ENV_FILE", "")
    assert Settings().database_url == DEFAULT_URL


def test_without_oms_env_file_the_settings_read_dotenv_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMS_ENV_FILE", raising=False)
    assert Settings().database_url == "sqlite:///dotenv.db"


def test_a_named_dotenv_file_that_is_not_there_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to be ignored: every value its default, an SQLite store in the working
    directory. Now one line naming OMS_ENV_FILE, exit 2, and no store is made."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMS_ENV_FILE", "/nonexistent/oms.env")
    with pytest.raises(SystemExit) as exit_:
        load_settings()
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: OMS_ENV_FILE: there is no file /nonexistent/oms.env;"), line
    monkeypatch.setenv("OMS_ENV_FILE", str(tmp_path))
    with pytest.raises(ValidationError, match="is a directory"):
        Settings()
    done = subprocess.run(
        [sys.executable, "-m", "workers.main"],
        env=dict(os.environ, OMS_ENV_FILE="missing.env"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: OMS_ENV_FILE: there is no file missing.env (relative")
    assert done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
