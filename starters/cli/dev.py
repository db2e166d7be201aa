"""The ``oms`` commands that run a process: the whole stack (``dev``), one part of it, the
sandboxes, the demo, the benchmark and the chaos suite."""

from __future__ import annotations

import sys

import click

from oms import extras
from oms.settings import Settings
from starters.cli._common import PASSTHROUGH, dev_module, pass_settings, run_module

# What `oms db` (seeding) and `oms demo` answer where devtools is not installed (the image).
NO_DEMO_CATALOGUE = (
    "the demo catalogue is not installed here (a development checkout has it); "
    "use `oms db --no-seed` and load your own catalogue through the API"
)
NO_DEMO = "the demo is not installed here (a development checkout has it)"


def _process(name: str, target: str, help: str) -> click.Command:
    """A command that runs ``target`` (``module:function``) with no arguments."""
    return click.Command(name, callback=lambda: run_module(target), help=help)


# Passthrough commands whose arguments an argparse parser checks: command name ->
# ``module:function`` returning that parser (imported only when asked for).
ARGUMENT_PARSERS: dict[str, str] = {
    "worker": "workers.main:parser",
    "smtp-sink": "sandboxes.smtp_sink:parser",
}


def _passthrough(name: str, target: str, help: str) -> click.Command:
    """A command that hands every argument after its name, unparsed, to ``target``."""

    @click.command(name, help=help, context_settings=PASSTHROUGH)
    @click.argument("rest", nargs=-1, type=click.UNPROCESSED)
    def run(rest: tuple[str, ...]) -> int:
        return run_module(target, rest)

    return run


PROCESSES = [
    _process("dev", "devtools.dev:main", "run everything in the foreground (make run)"),
    _passthrough("worker", "workers.main:main", "run workers (all queues, or --queues a,b)"),
    _passthrough("bench", "devtools.bench.run:main", "benchmark (make bench)"),
    _passthrough("chaos", "devtools.chaos.run:main", "fault scenarios (make chaos)"),
    _process("api", "starters.api.app:main", "run the HTTP API"),
    _process(
        "codec-server",
        "starters.codec_server:main",
        "run the codec server the Temporal UI decodes payloads with",
    ),
    _process("carrier", "sandboxes.carrier:main", "run the sandbox carrier service"),
    _passthrough(
        "smtp-sink", "sandboxes.smtp_sink:main", "run the local SMTP sink (--host, --port)"
    ),
    _process("simulator", "sandboxes.warehouse:main", "run the simulated warehouse"),
]


@click.command("codec-key", help="print a new random payload encryption key (for OMS_CODEC_KEYS)")
def codec_key() -> int:
    from oms.codec import new_key

    print(new_key())
    return 0


@click.command(help="migrate the store and load the demo catalogue (--no-seed: migrate only)")
@click.option(
    "--seed/--no-seed",
    default=True,
    help="load the demo catalogue after migrating (a production store: --no-seed)",
)
@pass_settings
def db(settings: Settings, seed: bool) -> int:
    if not seed:
        # Production images carry no devtools: migrating needs only the store's migrations.
        from oms.store.migrate import upgrade

        upgrade(settings.database_url)
        print("store migrated")
        return 0
    dev_module("devtools.dev", NO_DEMO_CATALOGUE).prepare_store(settings)
    print(f"store migrated and seeded: {settings.database_url}")
    return 0


@click.command(help="place a handful of realistic orders")
@click.option(
    "--history",
    is_flag=True,
    help="instead, write generated order history into the store (for reports; idempotent)",
)
@click.option("--days", type=int, default=90, help="days of history (with --history)")
@pass_settings
def demo(settings: Settings, history: bool, days: int) -> int:
    if history:
        try:
            extras.require(extras.REPORTS)  # the generator draws its history with numpy
        except extras.MissingExtra as exc:
            print(f"oms demo --history: {exc}", file=sys.stderr)
            return 1
        demo_module = dev_module("devtools.demo", NO_DEMO)
        return int(demo_module.seed_history_into_store(settings, days=days))
    return int(dev_module("devtools.demo", NO_DEMO).run_demo(settings))
