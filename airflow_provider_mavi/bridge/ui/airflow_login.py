"""
The pages' gate when the bridge is mounted in ``airflow api-server``: Airflow's own login.

Airflow does not authenticate plugin apps, so the pages check the caller themselves, the way the API
server's ``get_user`` dependency does: the JWT of an ``Authorization: Bearer`` header or of the ``_token``
cookie the Airflow UI keeps (an ``HttpOnly`` cookie since Airflow 3.1.1), validated by the auth manager
(``resolve_user_from_token``: signature, expiry, revocation). The bridge's own API token is accepted as a
bearer too, as on the standalone bridge. Only this module and ``plugin.py`` of the bridge import Airflow, and
this one only when a page is asked for (the plugin is loaded by every Airflow process, the pages are served
by the API server alone).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import HTTPException

from airflow_provider_mavi.bridge.ui.pages import page
from airflow_provider_mavi.bridge.ui.sessions import TokenSessions, UiAuth, bearer

if TYPE_CHECKING:
    from fastapi import Request
    from fastapi.responses import Response

log = logging.getLogger("airflow_provider_mavi.bridge.ui")


class AirflowLogin(UiAuth):
    """
    Logged-in Airflow users (any role), or a caller with the bridge's API token.

    :param token: the bridge's API token.
    """

    def __init__(self, token: str) -> None:
        self._bridge = TokenSessions(token)

    async def user(self, request: Request) -> str | None:
        """
        The Airflow user's name, ``"bridge token"``, or None.

        :param request: the request.
        """
        from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
        from airflow.api_fastapi.core_api.security import resolve_user_from_token

        presented = bearer(request)
        if self._bridge.token_valid(presented):
            return "bridge token"
        jwt = presented or request.cookies.get(COOKIE_NAME_JWT_TOKEN)
        if not jwt:
            return None
        try:
            user = await resolve_user_from_token(jwt)
        except HTTPException as err:  # expired (401) or invalid (403): not logged in
            log.info("mavi-bridge: an Airflow token was refused by the pages (%s)", err.status_code)
            return None
        return str(user.get_name())

    def refuse(self, request: Request) -> Response:
        """
        A 401 page that links to Airflow's login, coming back here afterwards.

        :param request: the request.
        """
        from airflow.api_fastapi.app import get_auth_manager

        try:  # a path under the API server's base URL
            login = get_auth_manager().get_url_login(next_url=request.url.path)
        except Exception as err:  # an auth manager without a login page of its own
            log.warning("mavi-bridge: no Airflow login URL for the pages (%s)", type(err).__name__)
            login = "/"
        return page(request, "airflow_login.html", status=401, login_url=login)
