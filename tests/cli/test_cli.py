"""The oms CLI parses what the README tells people to type."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from oms.store import tokens
from oms.store.db import Database
from oms.store.migrate import upgrade
from starters.cli import build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--queues", "workflows"],
        ["worker", "--queues", "inventory,carrier,email,payments"],
        ["bench", "--orders", "5", "--concurrency", "2"],
    ],
)
def test_options_after_process_commands_reach_the_process(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.rest == argv[1:]


def test_worker_rejects_an_unknown_queue_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from workers.main import main

    with pytest.raises(SystemExit):
        main(["--queues", "workflows,warehouse"])
    assert "unknown queue(s): warehouse" in capsys.readouterr().err


def test_quote_approval_from_a_terminal_parses_without_a_name() -> None:
    # Who approves is the token's (OMS_TOKEN); only an admin token may name a role.
    args = build_parser().parse_args(["quote", "approve", "Q-1"])
    assert (args.quote_id, args.role) == ("Q-1", None)
    args = build_parser().parse_args(["quote", "approve", "Q-1", "--role", "sales_manager"])
    assert args.role == "sales_manager"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["quote", "approve", "Q-1", "--as", "Maria Manager"])


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_api() -> Iterator[str]:
    """A real HTTP server that records the path and Authorization header of each GET."""
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_every_api_call_sends_the_token_from_oms_token(
    recording_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_API_URL", recording_api)
    monkeypatch.setenv("OMS_TOKEN", "oms_abc_s3cret")
    with pytest.raises(SystemExit) as exit_:
        main(["stock", "list"])
    assert exit_.value.code == 0
    monkeypatch.delenv("OMS_TOKEN")
    with pytest.raises(SystemExit):
        main(["order", "list"])
    assert _Recorder.seen == [
        ("/stock", "Bearer oms_abc_s3cret"),
        ("/orders", "Bearer dev-admin"),  # the documented default
    ]


def test_token_create_prints_a_token_once_list_shows_it_and_revoke_ends_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(database_url)
    monkeypatch.setenv("OMS_DATABASE_URL", database_url)

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            main(list(argv))
        out, err = capsys.readouterr()
        return int(exit_.value.code or 0), out, err

    code, out, err = run("token", "create", "--role", "finance", "--name", "johan")
    assert code == 0 and "not shown again" in err
    token = out.strip()
    token_id = token.split("_")[1]
    db = Database(database_url)
    try:
        with db.session() as session:
            principal = tokens.resolve(session, token)
        assert principal is not None and (principal.role, principal.subject) == ("finance", "johan")

        code, out, _ = run("token", "list")
        assert code == 0 and token_id in out and "live" in out and token not in out

        assert run("token", "revoke", token_id)[0] == 0
        with db.session() as session:
            assert tokens.resolve(session, token) is None
        assert "revoked" in run("token", "list")[1]
        assert run("token", "revoke", "no-such-id")[0] == 1
        code, _, err = run("token", "create", "--role", "buyer", "--name", "karin")
        assert code == 2 and "customer id or a company" in err
    finally:
        db.dispose()


def test_replenishment_commands_from_the_docs_parse() -> None:
    parser = build_parser()
    confirm = parser.parse_args(
        ["replenish", "confirm", "PO-WH-STO-JACKET-WOOL-M-1", "--supplier-ref", "W-1"]
    )
    # Who confirmed is the token's holder (OMS_TOKEN), so there is no --by to claim it.
    assert (confirm.reference, confirm.supplier_ref) == ("PO-WH-STO-JACKET-WOOL-M-1", "W-1")
    assert not hasattr(confirm, "by")
    receive = parser.parse_args(["replenish", "receive", "PO-WH-STO-JACKET-WOOL-M-1", "4"])
    assert (receive.reference, receive.quantity) == ("PO-WH-STO-JACKET-WOOL-M-1", 4)
    reorder = parser.parse_args(
        ["reorder", "set", "WH-STO", "CAP-NVY", "--point", "5", "--qty", "20"]
    )
    assert (reorder.warehouse_id, reorder.sku, reorder.point, reorder.qty) == (
        "WH-STO",
        "CAP-NVY",
        5,
        20,
    )
