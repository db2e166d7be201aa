"""One version: pyproject.toml's, said alike by the CLI, the API and every image tag."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from click.testing import CliRunner

from oms.settings import Settings
from starters.api.app import create_app
from starters.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_cli_and_the_api_say_the_pyproject_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"oms, version {PYPROJECT}"
    assert create_app(Settings()).openapi()["info"]["version"] == PYPROJECT


def test_every_image_tag_is_the_pyproject_version() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.temporal.yml").read_text())
    images = {s["image"] for s in compose["services"].values() if "temporal-oms" in s["image"]}
    assert images == {f"temporal-oms:${{OMS_VERSION:-{PYPROJECT}}}"}
    kustomization = yaml.safe_load((ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text())
    assert [i["newTag"] for i in kustomization["images"]] == [PYPROJECT]
    docs = (ROOT / "docs" / "deploy.md").read_text()
    tags = set(re.findall(r"temporal-oms:(\d+\.\d+\.\d+)", docs))
    assert tags == {PYPROJECT}
