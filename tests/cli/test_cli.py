"""The oms CLI parses what the README tells people to type."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from oms.store import tokens
from oms.store.db import Database
from oms.store.migrate import upgrade
from starters.cli import main
from starters.cli._common import error_reason, render

from smtp_fixtures import free_port


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        (["worker", "--queues", "workflows"], "workers.main"),
        (["worker", "--queues", "inventory,carrier,email,payments"], "workers.main"),
        (["worker", "--help"], "workers.main"),
        (["smtp-sink", "--host", "0.0.0.0", "--port", "8025"], "sandboxes.smtp_sink"),
        (["bench", "--orders", "5", "--concurrency", "2"], "devtools.bench.run"),
        (["bench", "--mode", "parked", "-h"], "devtools.bench.run"),
        (["chaos", "--quick", "--scenario", "carrier-flaky"], "devtools.chaos.run"),
    ],
)
def test_options_after_process_commands_reach_the_process(
    argv: list[str], target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(f"{target}.main", lambda rest: seen.append(list(rest)))
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert seen == [argv[1:]]


def test_worker_rejects_an_unknown_queue_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from workers.main import main

    with pytest.raises(SystemExit):
        main(["--queues", "workflows,warehouse"])
    assert "unknown queue(s): warehouse" in capsys.readouterr().err


def test_quote_approval_from_a_terminal_sends_no_name(recording_api: str) -> None:
    # Who approves is the token's (OMS_TOKEN); only an admin token may name a role.
    assert _run("quote", "approve", "Q-1") == 0
    assert _run("quote", "approve", "Q-1", "--role", "sales_manager") == 0
    assert _run("quote", "approve", "Q-1", "--as", "Maria Manager") == 2
    assert _Recorder.seen == [
        ("POST /quotes/Q-1/approvals", {"decision": "approve", "comment": None}),
        (
            "POST /quotes/Q-1/approvals",
            {"decision": "approve", "comment": None, "role": "sales_manager"},
        ),
    ]


def test_an_order_s_purchase_order_approval_from_a_terminal(recording_api: str) -> None:
    # As a quote's: the approver is the token's; only an admin token may name a role.
    assert _run("order", "approve", "O-1") == 0
    assert _run("order", "approve", "O-1", "--comment", "budget ok", "--role", "finance") == 0
    assert _run("order", "reject", "O-1", "--comment", "over budget") == 0
    assert _run("order", "approve", "O-1", "--as", "Maria Manager") == 2
    assert _Recorder.seen == [
        ("POST /orders/O-1/approvals", {"decision": "approve", "comment": None}),
        (
            "POST /orders/O-1/approvals",
            {"decision": "approve", "comment": "budget ok", "role": "finance"},
        ),
        ("POST /orders/O-1/approvals", {"decision": "reject", "comment": "over budget"}),
    ]


class _Recorder(BaseHTTPRequestHandler):
    """Records each request: ``"GET <path>"`` with its Authorization header, or
    ``"POST|PUT <path>"`` with its JSON body."""

    seen: list[tuple[str, Any]] = []
    # The Idempotency-Key header of each POST or PUT (None without one).
    keys: list[str | None] = []

    def do_GET(self) -> None:
        self.seen.append((f"GET {self.path}", self.headers.get("Authorization")))
        self._answer()

    def do_POST(self) -> None:
        self._record_body()

    def do_PUT(self) -> None:
        self._record_body()

    def _record_body(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append((f"{self.command} {self.path}", json.loads(body) if body else None))
        self.keys.append(self.headers.get("Idempotency-Key"))
        self._answer()

    def _answer(self) -> None:
        missing = "missing" in self.path
        body = b'{"detail": "not found"}' if missing else b"[]"
        self.send_response(404 if missing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real HTTP server, named by OMS_API_URL, that records every request."""
    _Recorder.seen, _Recorder.keys = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("OMS_API_URL", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def _run(*argv: str) -> int:
    """``oms ARGV``: its exit code."""
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return int(exit_.value.code or 0)


def test_every_api_call_sends_the_token_from_oms_token(
    recording_api: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OMS_TOKEN", "oms_abc_s3cret")
    with pytest.raises(SystemExit) as exit_:
        main(["stock", "list"])
    assert exit_.value.code == 0
    monkeypatch.delenv("OMS_TOKEN")
    token_file = tmp_path / "api-token"
    monkeypatch.setenv("OMS_TOKEN_FILE", str(token_file))
    with pytest.raises(SystemExit):
        main(["order", "list"])
    # make run provisions a stored token there: used when OMS_TOKEN is not set.
    token_file.write_text("oms_made_byrun\n")
    with pytest.raises(SystemExit):
        main(["stock", "list"])
    assert _Recorder.seen == [
        ("GET /stock", "Bearer oms_abc_s3cret"),
        ("GET /orders", "Bearer dev-admin"),  # the documented default
        ("GET /stock", "Bearer oms_made_byrun"),
    ]


def test_the_help_names_the_token_file_make_run_writes_before_dev_admin(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before, it said the default was dev-admin: make run's CLI sends var/api-token's.
    assert _run("--help") == 0
    help_ = " ".join(capsys.readouterr().out.split())
    assert "default dev-admin" not in help_
    assert "unset, the token 'make run' writes to var/api-token" in help_
    assert "else the one in OMS_TOKEN_FILE" in help_


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
        # -o chooses the format here too: the rows as JSON, the new secret inside the object.
        # -o after the command's name too, where users put it (click refused it there).
        code, out, _ = run("token", "list", "-o", "json")
        listed = json.loads(out)
        assert code == 0 and [t["token_id"] for t in listed] == [token_id]
        assert listed[0]["revoked_at"] is not None and "token" not in listed[0]
        code, out, _ = run("-o", "json", "token", "create", "--role", "ops", "--name", "per")
        made = json.loads(out)
        assert code == 0 and (made["role"], made["subject"]) == ("ops", "per")
        with db.session() as session:
            assert tokens.resolve(session, made["token"]) is not None
        code, out, _ = run("token", "revoke", made["token_id"], "--output", "yaml")
        assert code == 0 and f"token_id: {made['token_id']}" in out and "revoked_at: '" in out
        code, _, err = run("token", "revoke", "no-such-id")
        # One line, as every other CLI error: "error: ..." (the docs promise the prefix).
        assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
        code, _, err = run("token", "create", "--role", "buyer", "--name", "karin")
        assert code == 2 and err.startswith("error: ") and "customer id or a company" in err
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """A store URL with no tables yet (a fresh file, or a fresh PostgreSQL schema)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def test_token_commands_before_oms_db_say_so_in_one_line_and_exit_2(
    empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_DATABASE_URL", empty_url)
    for argv in (
        ("token", "create", "--role", "admin", "--name", "ada"),
        ("token", "list"),
        ("token", "revoke", "t-1"),
    ):
        assert _run(*argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1, err
        assert err.startswith("error: store not migrated (no tables; this release needs 0")
        assert err.rstrip().endswith(
            ": run oms db (--no-seed for a store without the demo catalogue)"
        )
    # A release behind: the revision it is at is named.
    upgrade(empty_url, "0016_backorder_free")
    assert _run("token", "list") == 2
    assert "(at 0016_backorder_free; this release needs " in capsys.readouterr().err
    upgrade(empty_url)
    assert _run("token", "create", "--role", "admin", "--name", "ada") == 0
    assert capsys.readouterr().out.startswith("oms_")


def test_token_commands_on_a_store_that_cannot_be_reached_are_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+psycopg://oms:s3cret@127.0.0.1:{free_port()}/oms"
    monkeypatch.setenv("OMS_DATABASE_URL", url)
    assert _run("token", "list") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("error: cannot reach the store (OMS_DATABASE_URL): OperationalError: ")
    assert "s3cret" not in err


def test_replenishment_commands_from_the_docs_send_what_they_say(recording_api: str) -> None:
    po = "PO-WH-STO-JACKET-WOOL-M-1"
    # Who confirmed is the token's holder (OMS_TOKEN), so there is no --by to claim it.
    assert _run("replenish", "confirm", po, "--supplier-ref", "W-1") == 0
    assert _run("replenish", "confirm", po, "--by", "someone") == 2
    assert _run("replenish", "receive", po, "4") == 0
    assert _run("reorder", "set", "WH-STO", "CAP-NVY", "--point", "5", "--qty", "20") == 0
    assert _Recorder.seen == [
        (f"POST /replenishment/{po}/confirm", {"supplier_reference": "W-1"}),
        (f"POST /replenishment/{po}/receipts", {"quantity": 4}),
        (
            "PUT /warehouses/WH-STO/reorder-policies/CAP-NVY",
            {"reorder_point": 5, "reorder_qty": 20},
        ),
    ]


def test_order_change_commands_send_what_they_say(
    recording_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("order", "note", "O-1", "Gift wrap", "--tag", "gift", "--tag", "vip") == 0
    assert _run("order", "hold", "O-1", "--reason", "check address") == 0
    assert _run("order", "release", "O-1", "--reason", "checked") == 0
    assert (
        _run("order", "refund", "O-1", "--amount", "49.00", "--reason", "late", "--key", "k") == 0
    )
    assert _run("order", "refund", "O-1", "--amount", "5.00", "--reason", "shipping") == 0
    argv = ["order", "list", "-q", "anna", "--sku", "CAP-NVY", "--tracking", "TN1"]
    assert _run(*argv, "--placed-from", "2026-12-01") == 0
    assert _Recorder.seen[:5] == [
        ("POST /orders/O-1/notes", {"text": "Gift wrap", "tags": ["gift", "vip"]}),
        ("POST /orders/O-1/hold", {"reason": "check address"}),
        ("POST /orders/O-1/release", {"reason": "checked"}),
        ("POST /orders/O-1/refunds", {"amount": "49.00", "reason": "late"}),
        ("POST /orders/O-1/refunds", {"amount": "5.00", "reason": "shipping"}),
    ]
    made = capsys.readouterr().err.strip().removeprefix("key: ")
    assert _Recorder.keys[3:] == ["k", made] and len(made) == 32
    assert _Recorder.seen[5] == (
        "GET /orders?q=anna&sku=CAP-NVY&tracking_number=TN1&placed_from=2026-12-01",
        ANY,
    )


def test_line_cancel_and_short_pick_commands_send_what_they_say(recording_api: str) -> None:
    argv = ["order", "cancel-line", "O-1", "TSHIRT-BLK-M", "--quantity", "1"]
    assert _run(*argv, "--reason", "customer asked") == 0
    assert (
        _run("shipment", "pick", "O-1-S1", "--picked", "TSHIRT-BLK-M=2", "--picked", "CAP=0") == 0
    )
    assert _run("shipment", "pick", "O-1-S1") == 0
    assert _run("shipment", "pick", "O-1-S1", "--picked", "TSHIRT-BLK-M") == 2
    address = '{"name": "Anna", "line1": "Storgatan 1", "postal_code": "111 22"}'
    argv = ["order", "edit", "O-1", "--line", "TSHIRT-BLK-M=3", "--ship-to", address]
    assert _run(*argv, "--speed", "express", "--reason", "moved") == 0
    assert _run("order", "edit", "O-1", "--ship-to", "{nope", "--reason", "x") == 2
    argv = ["shipment", "claim", "O-1-S1", "--kind", "lost", "--resolution", "reship"]
    assert _run(*argv, "--reason", "no scan for 9 days") == 0
    assert _run("shipment", "claim", "O-1-S1", "--kind", "stolen", "--resolution", "reship") == 2
    assert _Recorder.seen[3:] == [
        (
            "POST /orders/O-1/edits",
            {
                "reason": "moved",
                "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 3}],
                "ship_to": {"name": "Anna", "line1": "Storgatan 1", "postal_code": "111 22"},
                "shipping_speed": "express",
            },
        ),
        (
            "POST /shipments/O-1-S1/claims",
            {"kind": "lost", "resolution": "reship", "reason": "no scan for 9 days"},
        ),
    ]
    assert _Recorder.seen[:3] == [
        (
            "POST /orders/O-1/lines/TSHIRT-BLK-M/cancel",
            {"quantity": 1, "reason": "customer asked"},
        ),
        (
            "POST /shipments/O-1-S1/pick",
            {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 2}]},
        ),
        ("POST /shipments/O-1-S1/pick", {}),
    ]


def test_subscription_commands_send_what_they_say(recording_api: str) -> None:
    assert _run("subscription", "pause", "S-1", "--until", "2027-01-31T08:00:00Z") == 0
    assert _run("subscription", "pause", "S-1") == 0
    assert _run("subscription", "resume", "S-1", "--token", "tok_new") == 0
    assert _run("subscription", "skip", "S-1") == 0
    assert _run("subscription", "cancel", "S-1", "--at-period-end") == 0
    assert _run("subscription", "list", "--customer", "C-42", "--status", "paused") == 0
    assert _run("subscription", "list", "--status", "gone") == 2
    assert _Recorder.seen == [
        ("POST /subscriptions/S-1/pause", {"until": "2027-01-31T08:00:00Z"}),
        ("POST /subscriptions/S-1/pause", {}),
        ("POST /subscriptions/S-1/resume", {"payment": {"method": "card", "token": "tok_new"}}),
        ("POST /subscriptions/S-1/skip", {}),
        (
            "POST /subscriptions/S-1/cancel",
            {"at_period_end": True, "reason": "cancelled by the customer"},
        ),
        ("GET /subscriptions?customer_id=C-42&status=paused", ANY),
    ]


def test_ops_stuck_accepts_every_kind_the_api_lists(recording_api: str) -> None:
    # The CLI's choices are the API's: subscriptions, dead webhook deliveries and refused
    # callers too, not only the workflow kinds a second hand-written list named.
    from starters.api.ops import KIND_PATTERN

    kinds = ["subscription", "webhook", "caller", "order"]
    for kind in kinds:
        assert re.fullmatch(KIND_PATTERN, kind)
        assert _run("ops", "stuck", "--kind", kind, "--json") == 0
    assert _run("ops", "stuck", "--kind", "parcel") == 2
    assert [path for path, _ in _Recorder.seen] == [f"GET /ops/stuck?kind={k}" for k in kinds]


def test_report_options_become_query_parameters(
    recording_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "forecast", "--sku", "CAP-NVY", "--csv", "--from", "2026-09-01"]
    assert _run(*argv) == 0
    assert _Recorder.seen == [("GET /reports/forecast?format=csv&from=2026-09-01&sku=CAP-NVY", ANY)]
    assert capsys.readouterr().out == "[]"  # CSV is printed as it came


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["quote", "propose", "Q-1", "--override", "CAP-NVY"], "--override must look like"),
        (["return", "request", "O-1", "--line", "CAP-NVY:x:wrong_size"], "--line must look like"),
        (["report", "forecast"], "oms report forecast needs --sku"),
    ],
)
def test_malformed_values_stop_with_a_message_and_send_nothing(
    recording_api: str, argv: Sequence[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert message in str(exit_.value.code)
    assert _Recorder.seen == []


def test_an_exchange_names_what_to_send_instead(recording_api: str) -> None:
    argv = ["return", "request", "O-1", "--line", "CAP-NVY:1:wrong_size"]
    assert _run(*argv, "--exchange-for", "CAP-BLK=1", "--exchange-for", "CAP-RED=2") == 0
    assert _Recorder.seen == [
        (
            "POST /orders/O-1/returns",
            {
                "lines": [{"sku": "CAP-NVY", "quantity": 1, "reason": "wrong_size"}],
                "resolution": "exchange",
                "exchange_for": [
                    {"sku": "CAP-BLK", "quantity": 1},
                    {"sku": "CAP-RED", "quantity": 2},
                ],
            },
        )
    ]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["order", "edit", "O-1", "--line", "CAP-NVY", "--reason", "x"], "--line"),
        (["shipment", "pick", "O-1-S1", "--picked", "CAP-NVY=two"], "--picked"),
        (
            ["return", "request", "O-1", "--line", "CAP-NVY:1:x", "--exchange-for", "CAP=x"],
            "--exchange-for",
        ),
    ],
)
def test_a_malformed_sku_quantity_is_a_usage_error_naming_its_option(
    recording_api: str, capsys: pytest.CaptureFixture[str], argv: Sequence[str], option: str
) -> None:
    assert _run(*argv) == 2
    assert f"'{option}': SKU=QUANTITY, e.g. TSHIRT=1" in capsys.readouterr().err
    assert _Recorder.seen == []


def test_an_error_status_is_one_line_on_stderr_and_exit_1(
    recording_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("order", "get", "missing") == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "error: HTTP 404: not found\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"detail": {"error": "NotCancellable", "message": "order is completed"}},
            "NotCancellable: order is completed",
        ),
        (
            {"detail": [{"loc": ["body", "lines", 0, "sku"], "msg": "unknown SKU"}]},
            "lines.0.sku: unknown SKU",
        ),
        (
            {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "exists"},
            "Conflict: exists",
        ),
        (
            {"title": "Unprocessable", "errors": [{"loc": ["query", "status"], "msg": "bad"}]},
            "Unprocessable; query.status: bad",
        ),
    ],
)
def test_every_error_shape_the_api_answers_becomes_one_reason(
    body: dict[str, Any], reason: str
) -> None:
    response = httpx.Response(422, json=body)
    assert error_reason(body, response) == reason


def test_a_problem_prints_its_title_and_an_invalid_field_once() -> None:
    # The API's own answers: a problem's title, as docs/api.md shows it, and a 422 whose
    # detail already names the first invalid field (its ``errors`` list it again).
    from starters.api.deps import api_error, field_error
    from starters.api.problems import from_http_exception

    def answer(exc: Any) -> httpx.Response:
        sent = from_http_exception(None, exc)  # type: ignore[arg-type]
        return httpx.Response(sent.status_code, content=bytes(sent.body))

    conflict = answer(api_error(409, "OrderIdConflict", "order A-1001 exists"))
    assert error_reason(conflict.json(), conflict) == "OrderIdConflict: order A-1001 exists"
    invalid = answer(field_error(["reorder_point"], "must be at least 0", -5))
    reason = error_reason(invalid.json(), invalid)
    assert reason.startswith("ValidationError: ") and reason.count("must be at least 0") == 1


def test_answers_print_as_json_yaml_or_a_table() -> None:
    rows = [{"sku": "CAP-NVY", "on_hand": 5, "lines": [1]}, {"sku": "TSHIRT", "on_hand": None}]
    assert json.loads(render(rows, "json")) == rows
    assert render(rows, "table").splitlines() == [
        "SKU      ON_HAND",
        "CAP-NVY  5",
        "TSHIRT   -",
    ]
    assert render({"items": rows, "count": 2}, "table").splitlines()[0] == "SKU      ON_HAND"
    # A page with more after it says where the next one starts; the last page says nothing.
    page = render({"items": rows, "next_cursor": "eyJrIjoxfQ"}, "table").splitlines()
    assert page[0] == "SKU      ON_HAND" and page[-1] == "(more: --cursor eyJrIjoxfQ)"
    assert render({"items": rows, "next_cursor": None}, "table").splitlines()[-1] == "TSHIRT   -"
    assert render({"status": "open", "count": 2}, "table") == "status  open\ncount   2"
    assert render(rows, "yaml").startswith("- sku: CAP-NVY\n  on_hand: 5\n")


def test_version_and_a_completion_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--version") == 0
    assert capsys.readouterr().out.startswith("oms, version ")
    env = {**os.environ, "_OMS_COMPLETE": "bash_source"}
    script = subprocess.run(
        [sys.executable, "-m", "starters.cli"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "_oms_completion" in script and "complete " in script


def test_list_commands_page_with_limit_and_cursor(recording_api: str) -> None:
    assert _run("order", "list", "--status", "picking", "--limit", "2", "--cursor", "c2") == 0
    assert _run("warehouse", "stock", "WH-STO", "--limit", "5") == 0
    assert _run("order", "list", "--limit", "0") == 2  # refused before any request
    assert _Recorder.seen == [
        ("GET /orders?status=picking&limit=2&cursor=c2", ANY),
        ("GET /warehouses/WH-STO/stock?limit=5", ANY),
    ]


def test_the_same_options_in_another_order_make_the_same_request(recording_api: str) -> None:
    assert _run("order", "list", "--sku", "CAP-NVY", "-q", "anna", "--status", "picking") == 0
    assert _run("order", "list", "--status", "picking", "-q", "anna", "--sku", "CAP-NVY") == 0
    assert _run("quote", "accept", "Q-1", "--terms", "net60", "--po", "PO-9") == 0
    assert _Recorder.seen == [
        ("GET /orders?status=picking&q=anna&sku=CAP-NVY", ANY),
        ("GET /orders?status=picking&q=anna&sku=CAP-NVY", ANY),
        ("POST /quotes/Q-1/accept", {"po_number": "PO-9", "payment_terms": "net60"}),
    ]


def test_master_data_is_set_from_a_file(recording_api: str, tmp_path: Path) -> None:
    body = tmp_path / "product.json"
    body.write_text('{"name": "Cap", "unit_price": "149.00", "weight_grams": 120}')
    assert _run("product", "set", "CAP-NVY", str(body)) == 0
    assert _run("product", "get", "CAP-NVY") == 0
    assert _run("supplier", "list", "--limit", "3") == 0
    assert _Recorder.seen == [
        ("PUT /products/CAP-NVY", {"name": "Cap", "unit_price": "149.00", "weight_grams": 120}),
        ("GET /products/CAP-NVY", ANY),
        ("GET /suppliers?limit=3", ANY),
    ]


def test_a_warehouse_is_set_from_a_file_and_read_back(recording_api: str, tmp_path: Path) -> None:
    body = tmp_path / "warehouse.json"
    address = {"name": "DC", "line1": "Gatan 1", "postal_code": "212 37", "city": "Malmö"}
    body.write_text(json.dumps({**address, "country": "SE"}))
    assert _run("warehouse", "set", "WH-1", str(body)) == 0
    assert _run("warehouse", "get", "WH-1") == 0
    assert _run("warehouse", "stock", "WH-1") == 0
    assert _Recorder.seen == [
        ("PUT /warehouses/WH-1", {**address, "country": "SE"}),
        ("GET /warehouses/WH-1", ANY),
        ("GET /warehouses/WH-1/stock", ANY),
    ]


def test_price_list_and_shipping_quote_commands_send_what_they_say(
    recording_api: str, tmp_path: Path
) -> None:
    assert _run("price", "list", "eur", "--limit", "2") == 0
    assert _run("price", "get", "EUR", "CAP-NVY") == 0
    assert _run("price", "set", "EUR", "CAP-NVY", "21.00") == 0
    body = tmp_path / "quote.json"
    body.write_text('{"lines": [{"sku": "CAP-NVY", "quantity": 1}], "currency": "EUR"}')
    assert _run("shipping-quote", str(body)) == 0
    assert _Recorder.seen == [
        ("GET /price-lists/EUR/prices?limit=2", ANY),
        ("GET /price-lists/EUR/prices/CAP-NVY", ANY),
        ("PUT /price-lists/EUR/prices/CAP-NVY", {"unit_price": "21.00"}),
        (
            "POST /shipping/quotes",
            {"lines": [{"sku": "CAP-NVY", "quantity": 1}], "currency": "EUR"},
        ),
    ]


def test_company_members_and_the_event_feed_from_a_terminal(recording_api: str) -> None:
    assert _run("company", "add-member", "ACME-AB", "C-9") == 0
    assert _run("company", "members", "ACME-AB", "--limit", "10") == 0
    assert _run("events", "--after", "42", "--limit", "5") == 0
    assert _Recorder.seen == [
        ("PUT /companies/ACME-AB/members/C-9", ANY),
        ("GET /companies/ACME-AB/members?limit=10", ANY),
        ("GET /events?after=42&limit=5", ANY),
    ]


def test_root_options_override_the_environment(
    recording_api: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_API_URL", "http://127.0.0.1:9")  # would refuse
    assert _run("--api-url", recording_api, "--token", "t0k", "product", "list") == 0
    assert _Recorder.seen == [("GET /products", "Bearer t0k")]


def test_an_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("order", "get", "O-1", "--no-such-option") == 2
    assert "No such option" in capsys.readouterr().err


def test_invoice_commands_send_what_they_say(recording_api: str) -> None:
    assert _run("company", "pay", "ACME-AB", "--amount", "1000.00", "--reference", "BANK-1") == 0
    assert _run("company", "pay", "ACME-AB", "--amount", "1000.00") == 2  # a reference is required
    assert _run("order", "invoices", "B2B-1") == 0
    assert _Recorder.seen == [
        ("POST /companies/ACME-AB/payments", {"amount": "1000.00", "reference": "BANK-1"}),
        ("GET /orders/B2B-1/invoices", "Bearer dev-admin"),
    ]


@pytest.fixture
def without_devtools(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the production image, which carries no devtools."""
    loaded = {m for m in sys.modules if m.startswith("devtools.")}
    for name in loaded | {"devtools", "devtools.dev", "devtools.demo"}:
        monkeypatch.setitem(sys.modules, name, None)  # an import of it fails


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["db"], "error: the demo catalogue is not installed here"),
        (["demo"], "error: the demo is not installed here"),
        (["demo", "--history"], "error: the demo is not installed here"),
        (["dev"], "error: devtools.dev is not installed here"),
    ],
)
@pytest.mark.usefixtures("without_devtools")
def test_a_demo_command_without_devtools_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    if argv == ["db"]:
        assert "oms db --no-seed" in err


@pytest.mark.usefixtures("without_devtools")
def test_db_no_seed_migrates_without_devtools(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_DATABASE_URL", f"sqlite:///{tmp_path / 'oms.db'}")
    assert _run("db", "--no-seed") == 0
    assert capsys.readouterr().out == "store migrated\n"


def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(
    recording_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run("order", "place", "order.json") == 2
    assert capsys.readouterr().err == ("error: cannot read order.json: No such file or directory\n")
    (tmp_path / "dir.json").mkdir()
    assert _run("product", "set", "CAP", "dir.json") == 2
    assert capsys.readouterr().err == "error: cannot read dir.json: Is a directory\n"
    assert _Recorder.seen == []


STUCK = {
    "items": [
        {
            "kind": "order",
            "workflow_id": "order-O-1",
            "reason": "past_deadline",
            "stage": "allocating",
            "since": "2026-12-07T20:00:00Z",
            "last_error": "connection refused",
            "suggested_action": "retry-now",
            "ui_url": "http://ui/o-1",
        }
    ],
    "count": 1,
    "took_ms": 8.5,
}


@pytest.fixture
def stuck_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """``/ops/stuck`` answering one stuck order."""
    import starters.cli.ops

    def api(_settings: Any) -> httpx.Client:
        answer = httpx.MockTransport(lambda _request: httpx.Response(200, json=STUCK))
        return httpx.Client(transport=answer, base_url="http://oms")

    monkeypatch.setattr(starters.cli.ops, "api", api)


def test_ops_stuck_prints_json_by_default_as_every_command_does(
    stuck_api: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "order-O-1 ... 1 stuck (8.5 ms)" unless -o was given.
    assert _run("ops", "stuck") == 0
    assert json.loads(capsys.readouterr().out) == STUCK


def test_ops_stuck_prints_the_output_format_asked_for(
    stuck_api: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("-o", "json", "ops", "stuck") == 0
    assert json.loads(capsys.readouterr().out) == STUCK
    monkeypatch.setenv("OMS_OUTPUT", "yaml")
    assert _run("ops", "stuck") == 0
    assert capsys.readouterr().out.startswith("items:\n- kind: order\n")
    # After the command's name too, and there it wins over OMS_OUTPUT.
    assert _run("ops", "stuck", "-o", "json") == 0
    assert json.loads(capsys.readouterr().out) == STUCK
    assert _run("ops", "stuck", "--json") == 0
    assert json.loads(capsys.readouterr().out) == STUCK
    # Its table: a block per item with what to do, then the count.
    assert _run("ops", "stuck", "--output", "table") == 0
    out = capsys.readouterr().out
    assert "order-O-1" in out and "-> retry-now" in out
    assert out.endswith("1 stuck (8.5 ms)\n")


def test_ops_resend_needs_the_notification_named(
    recording_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: left out, it resent order_confirmed, and the help showed no default.
    assert _run("ops", "resend", "O-1", "--reason", "lost in spam") == 2
    assert "Missing option '--notification'" in capsys.readouterr().err
    assert _run("ops", "resend", "O-1", "--reason", "x", "--notification", "order_paid") == 2
    assert _Recorder.seen == []
    assert _run("ops", "resend", "O-1", "--reason", "x", "--notification", "order_cancelled") == 0
    assert _Recorder.seen == [
        ("POST /ops/orders/O-1/resend", {"reason": "x", "notification": "order_cancelled"})
    ]


def test_every_report_of_the_api_is_an_oms_report(recording_api: str) -> None:
    from starters.api.reports import router
    from starters.cli.reports import REPORTS

    names = {r.path.removeprefix("/reports/") for r in router.routes} - {"/reports"}  # type: ignore[attr-defined]
    assert set(REPORTS) == names
    assert _run("report", "subscriptions", "--from", "2026-01-01") == 0
    assert _Recorder.seen == [("GET /reports/subscriptions?format=json&from=2026-01-01", ANY)]


def test_ops_cancel_sends_the_customer_note_apart_from_the_reason(
    recording_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reason is internal (history); the customer's email gives only the note.
    assert _run("ops", "cancel", "--help") == 0
    assert "never emailed to the customer" in " ".join(capsys.readouterr().out.split())
    assert _run("ops", "cancel", "R1", "--reason", "fraud suspected") == 0
    note = "we could not verify the payment"
    argv = ("ops", "cancel", "R1", "--reason", "fraud suspected", "--customer-note", note)
    assert _run(*argv) == 0
    assert _Recorder.seen == [
        ("POST /ops/orders/R1/cancel", {"reason": "fraud suspected", "customer_note": None}),
        ("POST /ops/orders/R1/cancel", {"reason": "fraud suspected", "customer_note": note}),
    ]


def test_changes_from_a_terminal_take_a_customer_note_and_retry_on_their_key(
    recording_api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line cancel sent twice cancels twice unless both carry one Idempotency-Key: the
    command makes one (printed, to run again with) or takes --key; the customer reads
    --customer-note, never --reason."""
    argv = ["order", "cancel-line", "O-1", "CAP-NVY", "--quantity", "2", "--reason", "fraud"]
    assert _run(*argv, "--customer-note", "Out of stock, sorry", "--key", "k-1") == 0
    assert _run(*argv) == 0
    made = capsys.readouterr().err.strip().removeprefix("key: ")
    assert _run("order", "edit", "O-1", "--line", "CAP-NVY=1", "--reason", "r", "--key", "k-2") == 0
    address = '{"name": "Anna", "line1": "Storgatan 1", "postal_code": "111 22", "city": "S"}'
    argv = ["ops", "correct-address", "O-1-S1", "--ship-to", address, "--reason", "typo"]
    assert _run(*argv) == 0
    assert _run("ops", "correct-address", "O-1-S1", "--ship-to", "{", "--reason", "x") == 2
    cancel = "POST /orders/O-1/lines/CAP-NVY/cancel"
    assert _Recorder.seen == [
        (cancel, {"quantity": 2, "reason": "fraud", "customer_note": "Out of stock, sorry"}),
        (cancel, {"quantity": 2, "reason": "fraud"}),
        (
            "POST /orders/O-1/edits",
            {"reason": "r", "lines": [{"sku": "CAP-NVY", "quantity": 1}]},
        ),
        (
            "POST /shipments/O-1-S1/address",
            {"ship_to": json.loads(address), "reason": "typo"},
        ),
    ]
    assert _Recorder.keys[:3] == ["k-1", made, "k-2"] and len(made) == 32
