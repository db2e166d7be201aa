"""What every ``oms`` command shares: the API client, the settings and the output.

The root command's options (``--api-url``, ``--token``, ``--output``) override the
settings of that one command line; :func:`show` prints an answer in the chosen format and
turns an error answer into one line on stderr and exit code 1.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import click
import httpx

from oms.settings import Settings, load_settings

OUTPUTS = ("json", "table", "yaml")
# Where the root command keeps this command line's choices (``click.Context.meta``).
_OVERRIDES = "oms.settings_overrides"
_OUTPUT = "oms.output"
_OUTPUT_CHOSEN = "oms.output_chosen"
_SETTINGS = "oms.settings"
_PAGE = "oms.page"

# A command whose every argument goes, unparsed, to the process it starts.
PASSTHROUGH = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": [],
}

F = TypeVar("F", bound=Callable[..., Any])


def configure(ctx: click.Context, *, api_url: str | None, token: str | None, output: str) -> None:
    """Keep the root options for the commands of this command line."""
    overrides = {k: v for k, v in (("api_url", api_url), ("token", token)) if v}
    ctx.meta[_OVERRIDES] = overrides
    ctx.meta[_OUTPUT] = output
    source = ctx.get_parameter_source("output")
    ctx.meta[_OUTPUT_CHOSEN] = source not in (None, click.core.ParameterSource.DEFAULT)


def _chosen_here(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_OUTPUT], ctx.meta[_OUTPUT_CHOSEN] = value, True


def output_flag(*param_decls: str, output: str, help: str) -> Callable[[F], F]:
    """A flag that chooses ``--output OUTPUT`` for this command line (``--json``: as
    ``-o json`` does, whatever ``OMS_OUTPUT`` says)."""

    def choose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        _chosen_here(ctx, param, output if value else None)

    return click.option(*param_decls, is_flag=True, expose_value=False, callback=choose, help=help)


def output_on_every_command(group: click.Group) -> None:
    """Let every command below ``group`` take ``-o``/``--output`` after its name too
    (``oms token list -o json``, as well as ``oms -o json token list``): users put it at the
    end, and click would answer "No such option" there. Commands that hand their arguments
    to a process they start are left alone."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            output_on_every_command(command)
        elif not command.context_settings.get("ignore_unknown_options") and not any(
            "--output" in getattr(p, "opts", ()) for p in command.params
        ):
            command.params.append(
                click.Option(
                    ["-o", "--output"],
                    type=click.Choice(OUTPUTS),
                    expose_value=False,
                    callback=_chosen_here,
                    help="how answers are printed (as 'oms -o')",
                )
            )


def settings_of(ctx: click.Context) -> Settings:
    """``Settings()`` from the environment with the root options on top, built once (an
    invalid setting: one line naming its variable, exit code 2)."""
    if _SETTINGS not in ctx.meta:
        ctx.meta[_SETTINGS] = load_settings(**ctx.meta.get(_OVERRIDES, {}))
    settings: Settings = ctx.meta[_SETTINGS]
    return settings


def pass_settings(f: F) -> F:
    """Call the command with the command line's :class:`Settings` as first argument."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        return ctx.invoke(f, settings_of(ctx), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def api(settings: Settings) -> httpx.Client:
    """An HTTP client on ``OMS_API_URL`` that sends ``Authorization: Bearer $OMS_TOKEN``."""
    return httpx.Client(
        base_url=settings.api_url,
        timeout=60,
        headers={"Authorization": f"Bearer {settings.api_token()}"},
    )


def with_role(body: dict[str, Any], role: str | None) -> dict[str, Any]:
    """Add ``role`` when given: only an admin token may name the role it acts in."""
    return body | {"role": role} if role else body


def sku_quantity_option(*param_decls: str, help: str) -> Callable[[F], F]:
    """A repeatable ``SKU=QUANTITY`` option, handed to the command as ``(sku, quantity)``
    pairs; anything else is a usage error (exit code 2) naming the option."""
    return click.option(
        *param_decls,
        multiple=True,
        metavar="SKU=QUANTITY",
        help=help,
        callback=_sku_quantities,
    )


def _sku_quantities(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, int]]:
    try:
        return [(sku, int(qty)) for sku, _, qty in (v.rpartition("=") for v in values)]
    except ValueError as err:
        raise click.BadParameter("SKU=QUANTITY, e.g. TSHIRT=1") from err


def params(**values: str | int | float | None) -> dict[str, str | int | float]:
    """Query parameters: the options the user gave (``None`` and empty ones left out)."""
    return {k: v for k, v in values.items() if v is not None and v != ""}


def output_chosen() -> bool:
    """Whether this command line chose ``--output`` (or ``OMS_OUTPUT``), not the default."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_OUTPUT_CHOSEN, False))


def output_format() -> str:
    """The ``--output`` of this command line (``json`` outside a command)."""
    ctx = click.get_current_context(silent=True)
    return str(ctx.meta.get(_OUTPUT, "json")) if ctx is not None else "json"


def show(response: httpx.Response) -> int:
    """Print the answer in the chosen format and return 0; for an error status print one
    line (``error: HTTP <status>: <title>: <detail>``) on stderr and return 1."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        click.echo(f"error: HTTP {response.status_code}: {error_reason(body, response)}", err=True)
        return 1
    if body is None:
        click.echo(response.text)
    else:
        click.echo(render(body, output_format()))
    return 0


def error_reason(body: Any, response: httpx.Response) -> str:
    """One line saying why the API refused: a problem's ``title: detail`` (its first invalid
    field only when there is no ``detail``, which already names it), the OMS's
    ``{"detail": {"error", "message"}}``, or FastAPI's 422 list."""
    if not isinstance(body, dict):
        return _one_line(response.text) or response.reason_phrase
    title, detail, errors = body.get("title"), body.get("detail"), body.get("errors")
    if isinstance(detail, list):
        errors, detail = detail, None
    if isinstance(detail, dict):
        name, message = detail.get("error"), detail.get("message")
        detail = f"{name}: {message}" if name and message else message or name
    reason = ": ".join(str(x) for x in (title, detail) if x)
    if not detail and isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        reason = "; ".join(x for x in (reason, f"{where}: {first.get('msg', '')}".strip(": ")) if x)
    return _one_line(reason) or response.reason_phrase


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def render(body: Any, output: str) -> str:
    """``body`` as indented JSON, YAML, or a plain-text table (a list of objects: one row
    each, the scalar fields as columns; an object: one field a line)."""
    if output == "yaml":
        import yaml  # only for this output

        return str(yaml.safe_dump(body, sort_keys=False, allow_unicode=True)).rstrip()
    if output == "table":
        return _table(body)
    return json.dumps(body, indent=2, ensure_ascii=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 40 else text[:39] + "…"
    return str(value)


def _table(body: Any) -> str:
    if isinstance(body, dict):
        items = [v for v in body.values() if isinstance(v, list)]
        if len(items) == 1 and all(isinstance(i, dict) for i in items[0]):
            # A page or a list wrapper: its rows, and where the next page starts (a table
            # that showed only the first 100 rows without saying so misled).
            more = body.get("next_cursor")
            table = _table(items[0])
            return f"{table}\n(more: --cursor {more})" if more else table
        else:
            width = max((len(k) for k in body), default=0)
            return "\n".join(f"{k:<{width}}  {_cell(v)}" for k, v in body.items())
    if not isinstance(body, list):
        return _cell(body)
    rows = [r for r in body if isinstance(r, dict)]
    if not rows:
        return "\n".join(_cell(r) for r in body) or "(none)"
    columns = [k for k, v in rows[0].items() if not isinstance(v, dict | list)]
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def send(
    settings: Settings,
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> int:
    """Send ``body`` as JSON (none for ``None``) to ``path`` and show the answer."""
    with api(settings) as client:
        return show(client.request(method, path, json=body, headers=headers))


def post_file(settings: Settings, path: str, file: str, *, method: str = "POST") -> int:
    """Send a JSON document from ``file`` (``-`` for stdin) to ``path``. A file that cannot
    be read is one line on stderr and exit code 2 (nothing is sent)."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        click.echo(f"error: cannot read {file}: {reason}", err=True)
        raise SystemExit(2) from None
    with api(settings) as client:
        return show(
            client.request(method, path, content=text, headers={"content-type": "application/json"})
        )


def paged(f: F) -> F:
    """Give a list command ``--limit`` and ``--cursor`` (every API list pages); :func:`show_get`
    sends them."""

    @functools.wraps(f)
    def wrapper(*args: Any, limit: int | None = None, cursor: str | None = None, **kw: Any) -> Any:
        click.get_current_context().meta[_PAGE] = params(limit=limit, cursor=cursor)
        return f(*args, **kw)

    wrapper = click.option("--cursor", help="the next_cursor of the page before")(wrapper)
    wrapper = click.option(
        "--limit", type=click.IntRange(1, 500), help="items per page (default 100)"
    )(wrapper)
    return wrapper  # type: ignore[return-value]


def show_get(settings: Settings, path: str, **query: str | int | float | None) -> int:
    """GET ``path`` with the given query parameters (and a list command's page options)
    and show the answer."""
    ctx = click.get_current_context(silent=True)
    page = ctx.meta.get(_PAGE, {}) if ctx is not None else {}
    with api(settings) as client:
        return show(client.get(path, params={**params(**query), **page}))


# What a command that needs the dev tools answers where they are not installed (the
# production image carries none, docs/deploy.md).
NO_DEVTOOLS = "{what} is not installed here (a development checkout has it)"


def dev_module(name: str, missing: str) -> ModuleType:
    """Import ``name``, a module of the dev tools (``devtools``): where they are not
    installed, print ``error: <missing>`` on stderr and exit with code 2, not a traceback.
    A module the dev tools themselves lack still raises."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != "devtools" and not (err.name or "").startswith("devtools."):
            raise
        click.echo(f"error: {missing}", err=True)
        raise SystemExit(2) from None


def run_module(target: str, argv: Sequence[str] | None = None) -> int:
    """Call ``module:function`` (imported only now), with ``argv`` when given."""
    module_name, func = target.split(":")
    if module_name.partition(".")[0] == "devtools":
        module = dev_module(module_name, NO_DEVTOOLS.format(what=module_name))
    else:
        module = importlib.import_module(module_name)
    entry = getattr(module, func)
    if argv is None:
        entry()
    else:
        entry(list(argv))
    return 0
