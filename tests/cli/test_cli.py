"""The oms CLI parses what the README tells people to type."""

from __future__ import annotations

import pytest

from starters.cli import build_parser


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


def test_quote_approval_from_a_terminal_parses() -> None:
    args = build_parser().parse_args(
        ["quote", "approve", "Q-1", "--as", "Maria Manager", "--role", "sales_manager"]
    )
    assert (args.quote_id, args.as_, args.role) == ("Q-1", "Maria Manager", "sales_manager")


def test_replenishment_commands_from_the_docs_parse() -> None:
    parser = build_parser()
    confirm = parser.parse_args(
        ["replenish", "confirm", "PO-WH-STO-JACKET-WOOL-M-1", "--supplier-ref", "W-1"]
    )
    assert (confirm.reference, confirm.by, confirm.supplier_ref) == (
        "PO-WH-STO-JACKET-WOOL-M-1",
        "supplier",
        "W-1",
    )
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
