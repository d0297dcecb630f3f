"""
Rendering of the bridge's pages: Jinja2 templates with autoescape on (every value from outside is escaped),
the headers every page carries, and the three static files (CSS, JS, icon).

The headers: a Content-Security-Policy that allows scripts and styles from this app only (no inline script,
so an escaped-but-odd payload still cannot run), framing by the same origin only (the Airflow UI shows the
page in an iframe of its own origin), no caching of data pages, and no referrer leaving the origin.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from airflow_provider_mavi.bridge.ui import views

if TYPE_CHECKING:
    from fastapi import Request

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_STATIC_TYPES = {
    "mavi.css": "text/css; charset=utf-8",
    "mavi.js": "text/javascript; charset=utf-8",
    "mavi.svg": "image/svg+xml",
}


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


_env = Environment(
    loader=PackageLoader("airflow_provider_mavi.bridge.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(
    {
        "iso": _iso,
        "usd": views.usd,
        "duration": views.duration,
        "pretty": views.pretty,
        "mavi_says": views.mavi_says,
    }
)


def ui_root(request: Request) -> str:
    """
    The path of ``/ui`` as the browser sees it (under the mount prefix, ``/mavi/ui`` inside Airflow).

    :param request: the request.
    """
    return str(request.scope.get("root_path", "")).rstrip("/") + "/ui"


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """
    Render a template into a response with the pages' headers.

    :param request: the request (for the paths in links).
    :param template: the template's file name.
    :param status: the HTTP status.
    :param headers: extra headers.
    :param context: the template's variables.
    """
    html = _env.get_template(template).render(ui=ui_root(request), **context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def static(name: str) -> Response:
    """
    One of the pages' static files (public: they hold no data), or a 404.

    :param name: ``mavi.css``, ``mavi.js`` or ``mavi.svg``.
    """
    media_type = _STATIC_TYPES.get(name)
    if media_type is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body = resources.files("airflow_provider_mavi.bridge.ui").joinpath("static", name).read_bytes()
    return Response(
        body,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
