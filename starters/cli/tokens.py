"""``oms token``: stored API tokens, managed in the store itself (no API call: this is how
the first admin token of a production install is made)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from oms.domain.auth import ROLES
from oms.settings import Settings
from starters.cli._common import output_chosen, output_format, pass_settings, render


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """A session on the store; a store that cannot be reached or is not migrated (``oms
    token create`` before ``oms db``) is one line on stderr and exit status 2."""
    from oms.store.db import Database
    from oms.store.migrate import store_problem

    db = Database(settings.database_url)
    try:
        problem = store_problem(db.engine)
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            click.get_current_context().exit(2)
        with db.session() as session:
            yield session
    finally:
        db.dispose()


@click.group(help="API tokens: create (shown once), list, revoke")
def token() -> None:
    pass


def _chosen(body: object) -> bool:
    """Print ``body`` in the ``--output`` the command line chose, if it chose one: these
    commands print plain lines by default (the secret alone on stdout, for ``$(...)``)."""
    if not output_chosen():
        return False
    print(render(body, output_format()))
    return True


@token.command(help="create a token and print it once")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--name", required=True, help="who holds it (recorded on what they do)")
@click.option("--customer", help="buyer tokens: the customer id they act for")
@click.option("--company", help="buyer tokens: the company they act for")
@pass_settings
def create(
    settings: Settings, role: str, name: str, customer: str | None, company: str | None
) -> int:
    from oms.store import tokens

    with _session(settings) as session:
        try:
            secret, info = tokens.create_token(session, role, name, customer, company)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    print(f"token id {info.token_id} ({info.role}, {info.subject})", file=sys.stderr)
    print("store it now: it is not shown again", file=sys.stderr)
    if not _chosen({**info.model_dump(mode="json"), "token": secret}):
        print(secret)
    return 0


@token.command("list", help="every token, without secrets")
@pass_settings
def list_(settings: Settings) -> int:
    from oms.store import tokens

    with _session(settings) as session:
        infos = tokens.list_tokens(session)
    if _chosen([info.model_dump(mode="json") for info in infos]):
        return 0
    for info in infos:
        scope = info.customer_id or info.company_id or ""
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "live"
        print(
            f"{info.token_id}  {info.role:<14} {info.subject:<24} {scope:<12} "
            f"created {info.created_at:%Y-%m-%d %H:%M}  {state}"
        )
    return 0


@token.command(help="revoke a token by its id")
@click.argument("token_id")
@pass_settings
def revoke(settings: Settings, token_id: str) -> int:
    from oms.store import tokens
    from oms.store.errors import UnknownToken

    with _session(settings) as session:
        try:
            info = tokens.revoke(session, token_id)
        except UnknownToken as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    if not _chosen(info.model_dump(mode="json")):
        print(f"revoked {info.token_id} ({info.role}, {info.subject})")
    return 0
