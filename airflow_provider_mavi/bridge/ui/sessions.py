"""
Who may see the bridge's pages: :class:`UiAuth`, and :class:`TokenSessions`, the standalone bridge's gate.

A standalone bridge has one secret for people as for programs, its API token. A browser logs in once with it
on ``/ui/login``: the answer sets an ``HttpOnly`` cookie holding an expiry and an HMAC of it keyed by the
token, so the token itself never sits in the browser, a session ends by itself (12 h), and changing the token
ends every session. ``Authorization: Bearer <token>`` works on every page too (scripts, ``curl``). Anything
else gets a 401 with the login form: never data. Inside Airflow the gate is Airflow's login instead
(:mod:`.airflow_login`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter, Request  # noqa: TC002 (FastAPI reads the handlers' annotations at runtime)
from fastapi.responses import RedirectResponse, Response

from airflow_provider_mavi.bridge.ui.pages import page, ui_root

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("airflow_provider_mavi.bridge.ui")

COOKIE = "mavi_bridge_session"
SESSION_SECONDS = 12 * 3600
MAX_FORM_BYTES = 8192


class UiAuth:
    """The gate of the pages: who is asking, what a refused request gets, and any routes of its own."""

    async def user(self, request: Request) -> str | None:
        """
        Return a name for whoever is asking, or None when nobody is logged in.

        :param request: the request.
        """
        raise NotImplementedError

    def refuse(self, request: Request) -> Response:
        """
        The 401 page for an anonymous request (no data in it).

        :param request: the request.
        """
        raise NotImplementedError

    def add_routes(self, router: APIRouter) -> None:
        """
        Add the gate's own routes (a login form) to the pages' router.

        :param router: the router of ``/ui``.
        """


def bearer(request: Request) -> str | None:
    """
    The credentials of an ``Authorization: Bearer`` header, or None.

    :param request: the request.
    """
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def safe_next(request: Request, target: str | None) -> str:
    """
    Where to go after logging in: a path under this app's ``/ui/``, else the Mavi page (no open redirect).

    :param request: the request.
    :param target: the ``next`` the form carried.
    """
    root = ui_root(request)
    if (
        target
        and target.startswith(root + "/")
        and "//" not in target
        and "\\" not in target
        and all(c.isprintable() for c in target)
    ):
        return target
    return root + "/"


class TokenSessions(UiAuth):
    """
    The standalone bridge's gate: its API token as a bearer header, or a session cookie from ``/ui/login``.

    :param token: the bridge's API token.
    :param lifetime: seconds a session lasts.
    :param clock: the clock sessions are dated with (tests move it).
    """

    def __init__(
        self, token: str, lifetime: float = SESSION_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._token = token.encode()
        self._key = hashlib.sha256(b"mavi-bridge-ui-session\0" + self._token).digest()
        self.lifetime = lifetime
        self.clock = clock

    def _sign(self, expires: int) -> str:
        return hmac.new(self._key, f"session:{expires}".encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        """A cookie value: the expiry and its signature."""
        expires = int(self.clock() + self.lifetime)
        return f"{expires}.{self._sign(expires)}"

    def session_valid(self, value: str | None) -> bool:
        """
        Tell whether a cookie value is a session this token signed and that has not expired.

        :param value: the cookie's value.
        """
        expires, _, signature = (value or "").partition(".")
        if not expires.isdigit() or len(expires) > 12:
            return False
        return hmac.compare_digest(signature.encode(), self._sign(int(expires)).encode()) and (
            int(expires) > self.clock()
        )

    def token_valid(self, value: str | None) -> bool:
        """
        Tell whether ``value`` is the bridge's API token (constant-time).

        :param value: what was presented.
        """
        return value is not None and hmac.compare_digest(value.encode(), self._token)

    async def user(self, request: Request) -> str | None:
        """
        ``"bridge token"`` for the bearer header, ``"bridge session"`` for a valid cookie, else None.

        :param request: the request.
        """
        if self.token_valid(bearer(request)):
            return "bridge token"
        if self.session_valid(request.cookies.get(COOKIE)):
            return "bridge session"
        return None

    def refuse(self, request: Request, *, error: str | None = None) -> Response:
        """
        The login form, with status 401.

        :param request: the request.
        :param error: what went wrong with a login attempt.
        """
        target = request.url.path if request.method == "GET" else None
        return page(
            request,
            "login.html",
            status=401,
            next=safe_next(request, target),
            error=error,
            headers={"WWW-Authenticate": 'Bearer realm="mavi-bridge"'},
        )

    def add_routes(self, router: APIRouter) -> None:
        """
        ``GET /ui/login`` (the form), ``POST /ui/login`` (token → cookie) and ``POST /ui/logout``.

        :param router: the router of ``/ui``.
        """
        router.add_api_route("/ui/login", self._form, methods=["GET"], include_in_schema=False)
        router.add_api_route("/ui/login", self._login, methods=["POST"], include_in_schema=False)
        router.add_api_route("/ui/logout", self._logout, methods=["POST"], include_in_schema=False)

    async def _form(self, request: Request) -> Response:
        if await self.user(request):
            return RedirectResponse(ui_root(request) + "/", status_code=303)
        return self.refuse(request)

    async def _login(self, request: Request) -> Response:
        body = await _read_form(request)
        token = (body.get("token") or [""])[0].strip()
        target = safe_next(request, (body.get("next") or [""])[0])
        if not self.token_valid(token):
            log.warning("mavi-bridge: a login to the pages with a wrong token was refused")
            return page(
                request,
                "login.html",
                status=401,
                next=target,
                error="That is not this bridge's API token.",
            )
        answer = RedirectResponse(target, status_code=303)
        answer.set_cookie(
            COOKIE,
            self.new_session(),
            max_age=int(self.lifetime),
            path=ui_root(request),
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
        return answer

    async def _logout(self, request: Request) -> Response:
        answer = RedirectResponse(ui_root(request) + "/login", status_code=303)
        answer.delete_cookie(COOKIE, path=ui_root(request), httponly=True, samesite="lax")
        return answer


async def _read_form(request: Request) -> dict[str, list[str]]:
    """A small ``application/x-www-form-urlencoded`` body (anything larger or else reads as empty)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return {}
    return parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
