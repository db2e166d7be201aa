"""Where the other processes reach the API: OMS_API_URL, else the API's own host and port,
so ``OMS_API_PORT=8010 make run`` moves the CLI, the simulator and the banner with it."""

from __future__ import annotations

import pytest

from devtools.dev import DevPorts, _banner
from oms.settings import Settings


@pytest.fixture(autouse=True)
def no_exported_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OMS_API_URL",
        "OMS_API_HOST",
        "OMS_API_PORT",
        "OMS_CARRIER_URL",
        "OMS_CARRIER_HOST",
        "OMS_CARRIER_PORT",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_api_url_follows_the_api_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().api_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("OMS_API_PORT", "8010")
    assert Settings().api_url == "http://127.0.0.1:8010"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8010"),  # listening everywhere: reached on loopback
        ("::", "http://127.0.0.1:8010"),
        ("::1", "http://[::1]:8010"),
        ("10.1.2.3", "http://10.1.2.3:8010"),
        ("localhost", "http://localhost:8010"),
    ],
)
def test_the_api_url_follows_the_api_host(
    host: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_API_HOST", host)
    monkeypatch.setenv("OMS_API_PORT", "8010")
    assert Settings().api_url == url


def test_oms_api_url_wins_over_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_API_PORT", "8010")
    monkeypatch.setenv("OMS_API_URL", "https://oms.example")
    assert Settings().api_url == "https://oms.example"
    assert Settings(api_url="http://api:1").api_url == "http://api:1"


def test_the_make_run_banner_shows_the_port_the_api_listens_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_API_PORT", "8010")
    settings = Settings()
    _banner(settings, DevPorts.from_environment(settings, {}), "$(cat var/codec-token)")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8010/docs" in out and ":8000" not in out


def test_the_banner_of_a_second_make_run_shows_its_own_ports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(codec_port=18234, metrics_bind="127.0.0.1:19464")
    environ = {"OMS_DEV_TEMPORAL_PORT": "17233", "OMS_DEV_TEMPORAL_UI_PORT": "18233"}
    _banner(settings, DevPorts.from_environment(settings, environ), "$OMS_CODEC_AUTH_TOKENS")
    out = capsys.readouterr().out
    assert "http://localhost:18233/namespaces/default/workflows" in out
    assert "export TEMPORAL_ADDRESS=127.0.0.1:17233" in out
    assert "--codec-endpoint http://127.0.0.1:18234/codec" in out
    assert '--codec-auth "Bearer $OMS_CODEC_AUTH_TOKENS"' in out
    assert "http://127.0.0.1:19464/metrics" in out
    assert ":8233" not in out and ":8234" not in out and ":9464" not in out


def test_the_carrier_url_follows_the_sandbox_carriers_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ``OMS_CARRIER_PORT=8110 make run`` moved the sandbox carrier but left the workers
    # calling 8100.
    assert Settings().carrier_url == "http://127.0.0.1:8100"
    monkeypatch.setenv("OMS_CARRIER_PORT", "8110")
    assert Settings().carrier_url == "http://127.0.0.1:8110"
    monkeypatch.setenv("OMS_CARRIER_URL", "https://carrier.example")
    assert Settings().carrier_url == "https://carrier.example"
