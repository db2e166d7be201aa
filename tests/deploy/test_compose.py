"""docker-compose.temporal.yml and the Dockerfile, checked by parsing them (no Docker engine)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from oms.search_attributes import ALL

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.temporal.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

TEMPORAL_SERVICES = {
    "postgresql",
    "temporal-admin-tools",
    "temporal",
    "temporal-create-namespace",
    "temporal-ui",
}
OMS_APP_SERVICES = {
    "oms-migrate",
    "oms-worker-workflows",
    "oms-worker-activities",
    "oms-api",
    "oms-carrier",
    "oms-smtp",
    "oms-codec-server",
}
# Long-running OMS services that talk to Temporal and the store.
OMS_TEMPORAL_CLIENTS = {"oms-worker-workflows", "oms-worker-activities", "oms-api"}
SA_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "TEXT": "Text", "INT": "Int"}

_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")
_REQUIRED = re.compile(r"\$\{(\w+):?\?[^}]*\}")


def interpolate(value: Any) -> Any:
    """Resolve compose interpolation as with an empty environment: defaults win, ``$$`` -> ``$``,
    a required variable becomes ``<required NAME>``."""
    if isinstance(value, str):
        # ${VAR:?message}: compose refuses to start without VAR; marked, not resolved.
        value = _REQUIRED.sub(lambda m: f"<required {m.group(1)}>", value)
        return _VAR.sub(lambda m: m.group(2) or "", value.replace("$$", "\0")).replace("\0", "$")
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    doc = interpolate(yaml.safe_load(COMPOSE.read_text()))
    return doc["services"]


def image_tag(image: str) -> tuple[str, str]:
    name, _, tag = image.rpartition(":")
    if "/" in tag or not name:  # "host:port/repo" without a tag
        return image, ""
    return name, tag


def depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def env(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) for item in raw)
    return {k: str(v) for k, v in raw.items()}


def script(service: dict[str, Any]) -> str:
    command = service.get("command") or []
    entrypoint = service.get("entrypoint") or []
    parts = [entrypoint] if isinstance(entrypoint, str) else list(entrypoint)
    parts += [command] if isinstance(command, str) else list(command)
    return "\n".join(parts)


def argv(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def published(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            ports.add(int(port["published"]))
        else:
            parts = str(port).split(":")
            if len(parts) >= 2:
                ports.add(int(parts[-2]))
    return ports


def test_services_present(services: dict[str, dict[str, Any]]) -> None:
    missing = (TEMPORAL_SERVICES | OMS_APP_SERVICES) - set(services)
    assert not missing, f"missing services: {sorted(missing)}"
    stores = [s for s in services if s.startswith("oms-") and "postgres" in s]
    assert stores, "no PostgreSQL service for the OMS store"


def test_every_image_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "image" in service, f"{name} has no image (built services need a tagged image too)"
        _, tag = image_tag(service["image"])
        assert tag, f"{name}: image {service['image']!r} has no tag"
        assert tag != "latest", f"{name}: image {service['image']!r} is not pinned"


def test_one_temporal_server_version(services: dict[str, dict[str, Any]]) -> None:
    server, server_tag = image_tag(services["temporal"]["image"])
    assert server == "temporalio/server"
    assert re.fullmatch(r"\d+\.\d+\.\d+", server_tag), server_tag
    for name in ("temporal-admin-tools", "temporal-create-namespace"):
        tools, tag = image_tag(services[name]["image"])
        assert tools == "temporalio/admin-tools", name
        assert tag.split("-")[0] == server_tag, f"{name} {tag} != server {server_tag}"
    ui, ui_tag = image_tag(services["temporal-ui"]["image"])
    assert ui == "temporalio/ui"
    assert ui_tag.startswith("2."), ui_tag
    for name in ("postgresql", "oms-postgresql"):
        assert services[name]["image"] == "postgres:16", name


def test_temporal_dependency_chain(services: dict[str, dict[str, Any]]) -> None:
    assert depends(services["temporal-admin-tools"]) == {"postgresql": "service_healthy"}
    assert "pg_isready" in str(services["postgresql"]["healthcheck"]["test"])
    assert depends(services["temporal"]) == {
        "temporal-admin-tools": "service_completed_successfully"
    }
    assert "temporal" in depends(services["temporal-create-namespace"])
    assert "temporal" in depends(services["temporal-ui"])


def test_oms_services_wait_for_namespace_and_migrations(
    services: dict[str, dict[str, Any]],
) -> None:
    assert depends(services["oms-migrate"]).get("oms-postgresql") == "service_healthy"
    for name in OMS_TEMPORAL_CLIENTS:
        deps = depends(services[name])
        assert deps.get("temporal-create-namespace") == "service_completed_successfully", name
        assert deps.get("oms-migrate") == "service_completed_successfully", name


def test_schema_job_creates_and_migrates_both_databases(
    services: dict[str, dict[str, Any]],
) -> None:
    job = services["temporal-admin-tools"]
    text = script(job)
    assert "temporal-sql-tool --plugin postgres12" in text
    for db, schema in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        assert f"--db {db} create" in text, db
        assert f"--db {db} setup-schema -v 0.0" in text, db
        assert re.search(rf"--db {db} update-schema -d \S*{schema}/versioned", text), db
    assert "/etc/temporal/schema/postgresql/v12" in text
    for service in ("temporal-admin-tools", "temporal"):
        assert env(services[service]).get("DB") == "postgres12", service
        assert env(services[service]).get("POSTGRES_SEEDS") == "postgresql", service


def test_namespace_job_registers_every_search_attribute(
    services: dict[str, dict[str, Any]],
) -> None:
    job = services["temporal-create-namespace"]
    assert image_tag(job["image"])[0] == "temporalio/admin-tools"
    assert env(job).get("TEMPORAL_ADDRESS") == "temporal:7233"
    text = script(job)
    assert "temporal operator namespace create" in text
    assert "until temporal operator cluster health" in text
    assert re.search(r"search-attribute create .*--name \S+ --type \S+", text)
    for key in ALL:
        kind = SA_TYPES[key.indexed_value_type.name]
        assert re.search(rf"\b{key.name}\s+{kind}\b", text), f"{key.name} ({kind}) not created"


def test_oms_services_point_at_postgres_and_temporal(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in OMS_APP_SERVICES:
        variables = env(services[name])
        url = variables.get("OMS_DATABASE_URL", "")
        assert url.startswith("postgresql+psycopg://"), f"{name}: {url!r}"
        assert "@oms-postgresql:5432/" in url, f"{name}: {url!r}"
        assert variables.get("OMS_TEMPORAL_ADDRESS") == "temporal:7233", name
    assert env(services["oms-api"]).get("OMS_API_HOST") == "0.0.0.0"
    assert env(services["oms-carrier"]).get("OMS_CARRIER_HOST") == "0.0.0.0"


def test_oms_commands(services: dict[str, dict[str, Any]]) -> None:
    assert argv(services["oms-migrate"]) == ["oms", "db"]
    assert argv(services["oms-worker-workflows"]) == ["oms", "worker", "--queues", "workflows"]
    activities = argv(services["oms-worker-activities"])
    assert activities[:3] == ["oms", "worker", "--queues"]
    assert set(activities[3].split(",")) == {"inventory", "carrier", "email", "payments"}
    assert argv(services["oms-api"]) == ["oms", "api"]
    assert argv(services["oms-carrier"]) == ["oms", "carrier"]
    for name in OMS_APP_SERVICES:
        assert services[name].get("build"), f"{name} is not built from the repo's Dockerfile"


def test_ports_published(services: dict[str, dict[str, Any]]) -> None:
    assert 7233 in published(services["temporal"])
    assert 8080 in published(services["temporal-ui"])
    assert 8000 in published(services["oms-api"])


def test_every_oms_process_needs_real_codec_keys(services: dict[str, dict[str, Any]]) -> None:
    """No OMS process starts on the public dev key: compose demands keys of its own."""
    for name in OMS_APP_SERVICES:
        variables = env(services[name])
        assert variables.get("OMS_CODEC_KEYS") == "<required OMS_CODEC_KEYS>", name
        assert variables.get("OMS_CODEC_KEY_ID") == "<required OMS_CODEC_KEY_ID>", name


def test_codec_server_serves_the_ui(services: dict[str, dict[str, Any]]) -> None:
    codec = services["oms-codec-server"]
    assert argv(codec) == ["oms", "codec-server"]
    variables = env(codec)
    assert variables["OMS_CODEC_HOST"] == "0.0.0.0"
    assert 8234 in published(codec)
    ui = env(services["temporal-ui"])
    # The UI (in the browser) calls the codec at its published address, from its own origin.
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8234/codec"
    assert variables["OMS_CODEC_UI_ORIGINS"] == "http://localhost:8080"
    assert 8080 in published(services["temporal-ui"])
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "false"
    assert variables["OMS_CODEC_TRUST_UI_ORIGIN"] == "true"


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_installs_project_and_runs_oms() -> None:
    instructions = _instructions(DOCKERFILE)
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    installs = [args.split() for args in re.findall(r"pip install ([^&;|]+)", runs)]
    assert any(
        not {"-e", "--editable", "-r", "--requirement"} & set(args)
        and any(arg == "." or arg.startswith(("/", "./")) for arg in args)
        for args in installs
    ), f"project is not pip-installed (non-editable): {installs}"
    assert any(kw == "COPY" and "pyproject.toml" in rest for kw, rest in instructions)
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), "image runs as root"
    commands = [rest for kw, rest in instructions if kw in ("CMD", "ENTRYPOINT")]
    assert commands, "no CMD/ENTRYPOINT"
    assert yaml.safe_load(commands[-1]) == ["oms", "api"]


def test_dockerignore_excludes_local_state() -> None:
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    for pattern in (".venv", "var", ".git", "__pycache__", ".pytest_cache"):
        assert pattern in patterns, pattern
