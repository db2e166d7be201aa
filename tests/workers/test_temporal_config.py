"""How the OMS reaches Temporal: the SDK's environment configuration (TEMPORAL_* variables and
temporal.toml profiles, shared with the temporal CLI), the deprecated OMS_TEMPORAL_* names
for one release, and the connection a test or launcher gives in code."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import TLSConfig
from temporalio.testing import WorkflowEnvironment

from devtools.chaos.proxy import TcpProxy
from oms.client import connect, tls_config
from oms.settings import Settings, child_environment, load_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPORAL_VARIABLES = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_TLS",
    "OMS_TEMPORAL_ADDRESS",
    "OMS_TEMPORAL_NAMESPACE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in TEMPORAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # No developer's own ~/.config/temporalio/temporal.toml.
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "none.toml"))


async def test_temporal_address_and_namespace_reach_the_server(
    dev_server: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = dev_server.client.service_client.config.target_host
    monkeypatch.setenv("TEMPORAL_ADDRESS", address)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "default")
    settings = Settings()
    assert (settings.temporal_address, settings.temporal_namespace) == (address, "default")
    client = await connect(settings)
    assert client.service_client.config.target_host == address
    assert await client.service_client.check_health()


def test_a_temporal_toml_profile_sets_address_namespace_and_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        "[profile.default]\naddress = 'localhost:7233'\n\n"
        "[profile.cloud]\naddress = 'oms.abc12.tmprl.cloud:7233'\n"
        "namespace = 'oms.abc12'\napi_key = 'secret-key'\n"
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    settings = Settings()
    assert settings.temporal_address == "oms.abc12.tmprl.cloud:7233"
    assert settings.temporal_namespace == "oms.abc12"
    assert settings.temporal_api_key == "secret-key"
    assert tls_config(settings) is True  # an API key implies TLS
    # A variable overrides the profile, as with the temporal CLI.
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "oms.other")
    assert Settings().temporal_namespace == "oms.other"


@pytest.mark.parametrize(
    ("toml", "profile", "reason"),
    [
        (
            "[profile.default\naddress = 'localhost:7233'\n",
            None,
            "profile 'default': TOML parse error at line 1, column 17: unclosed table, expected",
        ),
        ("[profile.default]\naddress = 7233\n", None, "invalid type: integer"),
        (
            "[profile.default]\napi_key = 'secret-key\n",
            None,
            "TOML parse error at line 2, column 22: invalid literal string",
        ),
        ("[profile.default]\naddress = 'localhost:7233'\n", "cloud", "profile 'cloud': Profile"),
        (None, "cloud", "profile 'cloud': Profile 'cloud' not found (there is no such file)"),
        (
            "[profile.default]\naddress = 'a:7233'\n[profile.default.tls]\n"
            "client_cert_path = 'no-such-dir/client.pem'\n"
            "client_key_path = 'no-such-dir/client.key'\n",
            None,
            "a TLS file (the profile's or TEMPORAL_TLS_*'s) cannot be read",
        ),
    ],
    ids=[
        "malformed",
        "wrong type",
        "unterminated",
        "unknown profile",
        "no such file",
        "missing TLS file",
    ],
)
def test_a_bad_temporal_toml_is_one_line_naming_the_file_and_profile_and_exit_2(
    toml: str | None,
    profile: str | None,
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every entry point builds its settings with load_settings, where the profile is read."""
    config = tmp_path / "temporal.toml"
    if toml is not None:
        config.write_text(toml)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    if profile:
        monkeypatch.setenv("TEMPORAL_PROFILE", profile)
    with pytest.raises(SystemExit) as exit_:
        load_settings()
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: temporal.toml {config} (TEMPORAL_CONFIG_FILE), ") and (
        reason in line
    ), line
    assert "secret" not in line  # the SDK's excerpt of the file is left out


@pytest.mark.skipif(sys.platform != "linux", reason="the SDK reads XDG_CONFIG_HOME on Linux")
def test_the_default_temporal_toml_is_named_when_no_file_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "temporalio" / "temporal.toml"
    config.parent.mkdir()
    config.write_text("[profile.default\n")
    monkeypatch.delenv("TEMPORAL_CONFIG_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(SystemExit):
        load_settings()
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: temporal.toml {config} (the default), profile 'default': ")


def test_tls_files_come_from_the_sdk_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "cluster.internal:7233")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(cert))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(key))
    config = tls_config(Settings())
    assert isinstance(config, TLSConfig)
    assert (config.client_cert, config.client_private_key) == (b"CERT", b"KEY")


def test_the_old_names_still_work_with_a_warning_and_lose_to_the_new(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMS_TEMPORAL_ADDRESS", "old.internal:7233")
    with pytest.warns(FutureWarning, match=r"OMS_TEMPORAL_ADDRESS is deprecated.*TEMPORAL_ADDRESS"):
        assert Settings().temporal_address == "old.internal:7233"
    monkeypatch.setenv("TEMPORAL_ADDRESS", "new.internal:7233")
    with pytest.warns(FutureWarning):
        assert Settings().temporal_address == "new.internal:7233"


def test_the_old_names_in_a_dotenv_file_lose_to_the_new_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """.env is read like the environment: an old name there used to count as "given in code",
    so it won and the SDK's address, API key and TLS were all dropped, without a warning."""
    env_file = tmp_path / "oms.env"
    env_file.write_text("OMS_TEMPORAL_ADDRESS=127.0.0.1:7999\n")
    monkeypatch.setenv("OMS_ENV_FILE", str(env_file))
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:7433")
    monkeypatch.setenv("TEMPORAL_API_KEY", "k")
    with pytest.warns(FutureWarning, match=r"OMS_TEMPORAL_ADDRESS is deprecated.*TEMPORAL_ADDRESS"):
        settings = Settings()
    assert (settings.temporal_address, settings.temporal_api_key) == ("127.0.0.1:7433", "k")
    assert tls_config(settings) is True  # an API key implies TLS, as from the environment
    # Alone, the old name still works (with the warning), as in the environment.
    monkeypatch.delenv("TEMPORAL_ADDRESS")
    monkeypatch.delenv("TEMPORAL_API_KEY")
    with pytest.warns(FutureWarning, match="OMS_TEMPORAL_ADDRESS"):
        assert Settings().temporal_address == "127.0.0.1:7999"


def test_an_address_given_in_code_ignores_the_environments_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A test or launcher names its own server: a developer's Cloud key or TLS never applies."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", "cloud:7233")
    monkeypatch.setenv("TEMPORAL_API_KEY", "cloud-key")
    monkeypatch.setenv("TEMPORAL_TLS", "true")
    settings = Settings(temporal_address="127.0.0.1:7233")
    assert (settings.temporal_address, settings.temporal_api_key) == ("127.0.0.1:7233", "")
    assert tls_config(settings) is False


def test_a_child_process_reaches_temporal_as_its_parent_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parent = Settings(temporal_address="127.0.0.1:7999", temporal_namespace="oms-test")
    # The parent's shell points elsewhere; the child must not follow it.
    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    monkeypatch.setenv("TEMPORAL_API_KEY", "cloud-key")
    monkeypatch.setenv("OMS_TEMPORAL_NAMESPACE", "stale")
    probe = (
        "import json, warnings\n"
        "from oms.client import tls_config\n"
        "from oms.settings import Settings\n"
        "warnings.simplefilter('error')\n"
        "s = Settings()\n"
        "print(json.dumps([s.temporal_address, s.temporal_namespace, s.temporal_api_key,"
        " tls_config(s)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=child_environment(parent),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == ["127.0.0.1:7999", "oms-test", "", False]


async def test_worker_and_api_wait_for_a_temporal_that_answers_late(
    dev_server: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker or API started before Temporal (a pod, a compose service, a dev server still
    binding) keeps trying for ``temporal_connect_wait_s`` instead of exiting at once."""
    host, port = dev_server.client.service_client.config.target_host.rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    settings = Settings(temporal_address=f"127.0.0.1:{await proxy.start()}")
    proxy.cut()  # Temporal "not up yet": every connection is dropped
    try:
        with pytest.raises(RuntimeError, match="Failed client connect"):
            await connect(settings)  # the CLI's way: one try, no wait
        assert "does not answer yet" not in caplog.text

        attempt = asyncio.create_task(connect(settings, wait_s=30))
        while "does not answer yet" not in caplog.text:
            assert not attempt.done(), attempt
            await asyncio.sleep(0.05)
        proxy.restore()  # Temporal comes up
        client = await asyncio.wait_for(attempt, 30)
        assert await client.service_client.check_health()
        assert f"Temporal at {settings.temporal_address} does not answer yet" in caplog.text
    finally:
        await proxy.stop()


async def test_the_wait_for_temporal_ends_with_the_sdks_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = TcpProxy("127.0.0.1", 9)
    settings = Settings(temporal_address=f"127.0.0.1:{await proxy.start()}")
    proxy.cut()
    try:
        with pytest.raises(RuntimeError, match="Failed client connect"):
            await connect(settings, wait_s=0.5)
        assert caplog.text.count("does not answer yet") >= 1
    finally:
        await proxy.stop()
