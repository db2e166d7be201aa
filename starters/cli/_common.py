"""What every ``oms`` command shares: the API client, the settings and the output."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import httpx

from oms.settings import Settings

# ``Settings()`` from the environment, built once per command line when a command needs it.
pass_settings = click.make_pass_decorator(Settings, ensure=True)

# A command whose every argument goes, unparsed, to the process it starts.
PASSTHROUGH = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": [],
}


def api(settings: Settings) -> httpx.Client:
    """An HTTP client on ``OMS_API_URL`` that sends ``Authorization: Bearer $OMS_TOKEN``."""
    return httpx.Client(
        base_url=settings.api_url,
        timeout=60,
        headers={"Authorization": f"Bearer {settings.token}"},
    )


def with_role(body: dict[str, Any], role: str | None) -> dict[str, Any]:
    """Add ``role`` when given: only an admin token may name the role it acts in."""
    return body | {"role": role} if role else body


def params(**values: str | int | float | None) -> dict[str, str | int | float]:
    """Query parameters: the options the user gave (``None`` and empty ones left out)."""
    return {k: v for k, v in values.items() if v is not None and v != ""}


def show(response: httpx.Response) -> int:
    """Print the response body (JSON indented); exit code 1 and ``HTTP <status>`` on
    stderr for an error status."""
    try:
        body: Any = response.json()
        print(json.dumps(body, indent=2, ensure_ascii=False))
    except ValueError:
        print(response.text)
    if response.status_code >= 400:
        print(f"HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0


def post_file(settings: Settings, path: str, file: str) -> int:
    """POST a JSON document from ``file`` (``-`` for stdin) to ``path``."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text()
    with api(settings) as client:
        return show(client.post(path, content=text, headers={"content-type": "application/json"}))


def run_module(target: str, argv: Sequence[str] | None = None) -> int:
    """Call ``module:function`` (imported only now), with ``argv`` when given."""
    module_name, func = target.split(":")
    entry = getattr(importlib.import_module(module_name), func)
    if argv is None:
        entry()
    else:
        entry(list(argv))
    return 0
