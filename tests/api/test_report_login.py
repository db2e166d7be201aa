"""The report page is opened in a browser: a request without credentials is told both ways
in (``Bearer``, or HTTP Basic with the token as the password) and challenged for Basic, so
the browser shows its login prompt.

Before, the page's 401 said only "missing bearer token: send 'Authorization: Bearer …'",
which a person in a browser cannot do.
"""

from __future__ import annotations

import httpx

from app_fixtures import app_clients


async def test_the_report_page_without_credentials_asks_for_a_basic_login_too(
    migrated_sqlite_url: str,
) -> None:
    async with app_clients(migrated_sqlite_url, "ops") as clients:
        anonymous: httpx.AsyncClient = clients["ops"]
        del anonymous.headers["Authorization"]
        page = await anonymous.get("/reports")
        assert page.status_code == 401, page.text
        assert page.headers["www-authenticate"].startswith("Basic realm=")
        detail = page.json()["detail"]
        assert "'Authorization: Bearer <token>'" in detail
        assert "HTTP Basic: any user name, the API token as the password" in detail
        # An API route is for scripts: Bearer only, as before.
        stock = await anonymous.get("/stock")
        assert stock.status_code == 401
        assert stock.headers["www-authenticate"] == "Bearer"
        assert "Basic" not in stock.json()["detail"]
