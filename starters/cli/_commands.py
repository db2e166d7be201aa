"""Commands made from an API path: the path's fields are the command's arguments and its
options the query (a GET) or the JSON body (a POST), so a command that only passes what it
is given on is one declaration (``get_command``, ``list_command``, ``post_command``,
``reason_command``, ``decision_command``, ``file_command``, and ``resource_group`` for a
resource's group)."""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Any

import click

from oms.settings import Settings
from starters.cli._common import F, paged, pass_settings, post_file, send, show_get, with_role


def _path_command(
    name: str, path: str, help: str | None, run: Callable[..., int], *options: Callable[[F], F]
) -> click.Command:
    """A command ``NAME`` whose arguments are the fields of ``path`` (``/orders/{order_id}``:
    ``ORDER_ID``), in order, then ``options``; ``run(settings, path, **options)`` with the
    fields filled in."""

    def command(settings: Settings, **values: Any) -> int:
        fields = {k: values.pop(k) for k in _fields(path)}
        # Click hands the options over in the order they were typed; in the command's own
        # order, the same options make the same request whatever their order.
        declared = [p.name for p in click.get_current_context().command.params]
        options = {k: values[k] for k in declared if k in values}
        return run(settings, path.format(**fields), **options)

    callback: Callable[..., int] = pass_settings(command)
    for option in reversed(options):
        callback = option(callback)
    for argument in reversed(_fields(path)):
        callback = click.argument(argument)(callback)
    return click.command(name, help=help)(callback)


def _fields(path: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(path) if field]


def get_command(
    name: str,
    path: str,
    help: str | None = None,
    *options: Callable[[F], F],
    pages: bool = False,
) -> click.Command:
    """A command that GETs ``path`` (its fields are the arguments) and shows the answer;
    each of ``options`` is a query parameter of its name (``click.option("--company",
    "company_id")``: ``?company_id=``); with ``pages``, a list command's ``--limit`` and
    ``--cursor``."""
    return _path_command(name, path, help, show_get, *options, *([paged] if pages else []))


def list_command(path: str, *options: Callable[[F], F], help: str | None = None) -> click.Command:
    """``list``: a page of the collection at ``path``; ``options`` as in :func:`get_command`."""
    return get_command("list", path, help, *options, pages=True)


def resource_group(
    name: str,
    help: str,
    path: str,
    *,
    list_options: Sequence[Callable[[F], F]] = (),
    create: tuple[str, str] | None = None,
    get_help: str | None = None,
    list_help: str | None = None,
) -> click.Group:
    """The command group ``NAME`` of a resource, one of which is at ``path``
    (``/orders/{order_id}``): ``get ORDER_ID``, ``list`` (the collection, ``/orders``, with
    ``list_options`` as in :func:`list_command`) and, with ``create`` (a command name and its
    help), that command, which POSTs a JSON file to the collection."""
    collection = path.rsplit("/", 1)[0]
    group = click.Group(name, help=help)
    if create is not None:
        command, create_help = create
        group.add_command(file_command(command, collection, create_help))
    group.add_command(get_command("get", path, get_help))
    group.add_command(list_command(collection, *list_options, help=list_help))
    return group


def file_command(name: str, path: str, help: str) -> click.Command:
    """A command ``NAME FILE`` that POSTs the JSON document in FILE (``-`` for stdin) to
    ``path`` (its fields, if any, are arguments before FILE)."""
    return _path_command(name, path, help, post_file, click.argument("file"))


def post_command(
    name: str, path: str, help: str | None = None, *options: Callable[[F], F]
) -> click.Command:
    """A command that POSTs ``path`` (its fields are the arguments) a JSON object of
    ``options``, each under its name (``click.option("--po", "po_number")``:
    ``{"po_number": ...}``; an argument among them, too), in the order given."""
    return _path_command(name, path, help, _post_options, *options)


def _post_options(settings: Settings, path: str, **body: Any) -> int:
    return send(settings, path, body)


def reason_command(
    name: str,
    path: str,
    help: str | None = None,
    *,
    required: bool = True,
    reason_help: str | None = None,
) -> click.Command:
    """:func:`post_command` of ``{"reason": TEXT}``: ``--reason TEXT`` required, or else
    empty when left out."""
    reason_option = (
        click.option("--reason", required=True, help=reason_help)
        if required
        else click.option("--reason", default="", help=reason_help)
    )
    return post_command(name, path, help, reason_option)


def decision_command(decision: str, path: str, help: str) -> click.Command:
    """An approver's ``approve`` or ``reject`` (``decision``, also the command's name): POSTs
    ``path`` (its fields are the arguments) ``{"decision", "comment"}``, with ``--role`` (admin
    tokens only) when given. Who decides is the token's; the body names no one."""

    def decide(settings: Settings, path: str, role: str | None, comment: str | None) -> int:
        return send(settings, path, with_role({"decision": decision, "comment": comment}, role))

    return _path_command(
        decision,
        path,
        help,
        decide,
        click.option("--role", help="admin tokens only: the role to decide as"),
        click.option("--comment"),
    )
