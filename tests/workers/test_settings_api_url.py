"""Where the other processes reach the API: OMS_API_URL, else the API's own host and port,
so ``OMS_API_PORT=8010 make run`` moves the CLI, the simulator and the banner with it."""

from __future__ import annotations

import pytest

from devtools.dev import _banner
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
    _banner(Settings())
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8010/docs" in out and ":8000" not in out


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
