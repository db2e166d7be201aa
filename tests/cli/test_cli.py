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
