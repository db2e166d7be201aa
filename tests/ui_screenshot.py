"""The Temporal Web UI reading an encrypted order through the codec server, in a real browser.

``python tests/ui_screenshot.py [out.png]`` starts, on free ports: a Temporal dev server with
its Web UI pointed at a codec server (``--ui-codec-endpoint``, as ``make run`` does), the
codec server itself, and the OMS (worker, API, carrier, SMTP) on a throw-away SQLite store;
places an order; opens the order's workflow page in headless Chromium (the system's
``/usr/bin/chromium``, driven by the ``playwright`` package: ``pip install -e '.[ui]'``,
``apt-get install chromium``); waits until the customer's name, which exists only inside
the encrypted payloads, is on the page; and saves a screenshot
(default ``docs/security/ui-decoded-order.png``).

``capture_decoded_order`` is the reusable part: ``tests/e2e/test_ui_codec_browser.py`` calls
it to assert that the UI shows the decrypted order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import uvicorn  # noqa: E402
from temporalio.client import Client  # noqa: E402

from devtools.dev import codec_endpoint  # noqa: E402
from oms.client import data_converter  # noqa: E402
from oms.devserver import dev_server_command  # noqa: E402
from oms.settings import Settings  # noqa: E402
from starters.codec_server import PREFIX, create_app  # noqa: E402
from workflows.order import order_workflow_id  # noqa: E402

from stack import free_port, order_body, running_stack  # noqa: E402

CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_OUT = HERE.parent / "docs" / "security" / "ui-decoded-order.png"
CUSTOMER = "Anna Lindqvist"


@dataclass
class UiServer:
    """A dev server with its Web UI wired to a codec server."""

    client: Client
    ui_url: str
    codec_url: str


@contextmanager
def _codec_server(settings: Settings, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("codec server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@asynccontextmanager
async def ui_server(workdir: Path) -> AsyncIterator[UiServer]:
    """Dev server + Web UI + codec server (trusting the UI's origin, as in ``make run``)."""
    port, ui_port, codec_port = free_port(), free_port(), free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    settings = Settings(
        _env_file=None,
        codec_ui_origins=f"{ui_url},http://localhost:{ui_port}",
        codec_trust_ui_origin=True,
    )
    with (
        _dev_server(workdir, port, ui_port, codec_endpoint(codec_port)),
        _codec_server(settings, codec_port),
    ):
        client = await _connect(f"127.0.0.1:{port}", settings)
        yield UiServer(client, ui_url, f"http://127.0.0.1:{codec_port}{PREFIX}")


@contextmanager
def _dev_server(workdir: Path, port: int, ui_port: int, codec_url: str) -> Iterator[None]:
    """``temporal server start-dev`` exactly as ``make run`` builds it, on the given ports."""
    with (workdir / "temporal.log").open("wb") as log:
        proc = subprocess.Popen(
            dev_server_command(None, port=port, ui_port=ui_port, codec_endpoint=codec_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _connect(address: str, settings: Settings) -> Client:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(address, data_converter=data_converter(settings))
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def capture_decoded_order(out: Path | None, workdir: Path) -> str:
    """Place an order on a fresh stack and load its workflow page in the UI.

    Returns the text of the page once the customer's name is on it (which the UI can only
    show by decoding the encrypted input through the codec server); saves a screenshot to
    ``out`` if given. Raises playwright's ``TimeoutError`` if the name never appears.
    """
    from playwright.async_api import async_playwright

    async with ui_server(workdir) as server:
        url = f"sqlite:///{workdir / 'oms.db'}"
        async with running_stack(server.client, url, workdir) as (stack, _):
            order_id = f"UI-{os.urandom(3).hex().upper()}"
            response = await stack.place(order_body(order_id, [("TSHIRT-BLK-M", 2, "249.00")]))
            response.raise_for_status()
            await stack.wait_for_status(order_id, {"picking"})
            workflow_id = order_workflow_id(order_id)
            run_id = (await server.client.get_workflow_handle(workflow_id).describe()).run_id
            page_url = (
                f"{server.ui_url}/namespaces/default/workflows/{workflow_id}/{run_id}/history"
            )
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page(viewport={"width": 1400, "height": 1300})
                    await page.goto(page_url)
                    # The input is shown decoded only once the codec server answered.
                    await page.get_by_text(CUSTOMER).first.wait_for(timeout=60_000)
                    with contextlib.suppress(Exception):
                        await page.wait_for_load_state("networkidle", timeout=5_000)
                    if out is not None:
                        out.parent.mkdir(parents=True, exist_ok=True)
                        await page.screenshot(path=str(out), full_page=False)
                    return str(await page.inner_text("body"))
                finally:
                    await browser.close()


async def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    with tempfile.TemporaryDirectory() as tmp:
        text = await capture_decoded_order(out, Path(tmp))
    print(f"saved {out}; customer visible: {CUSTOMER in text}")


if __name__ == "__main__":
    asyncio.run(main())
