"""
``mavi-bridge``: run the webhook bridge and look into its store.

    mavi-bridge serve [--host H --port P --db-url URL ...]   run it (uvicorn)
    mavi-bridge url                                          the URL to register in the Mavi console
    mavi-bridge show JOB_ID                                  what is stored for a job
    mavi-bridge purge --older-than 30d                       delete old callbacks and jobs
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.bridge.settings import (
    BridgeConfigError,
    BridgeSettings,
    parse_duration,
)
from airflow_provider_mavi.bridge.store import StoreError, open_store

if TYPE_CHECKING:
    from collections.abc import Sequence


def _settings(args: argparse.Namespace, *, require_secrets: bool) -> BridgeSettings:
    overrides: dict[str, Any] = {
        "db_url": getattr(args, "db_url", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "max_body": getattr(args, "max_body", None),
        "public_url": getattr(args, "public_url", None),
        "relay_urls": getattr(args, "relay_url", None) or None,
        "allowed_networks": getattr(args, "allow_network", None) or None,
        "forwarded_allow_ips": getattr(args, "forwarded_allow_ips", None),
        "log_level": getattr(args, "log_level", None),
        "access_log": True if getattr(args, "access_log", False) else None,
    }
    retention = getattr(args, "retention", None)
    if retention:
        overrides["retention_seconds"] = parse_duration(retention)
    return BridgeSettings.from_env(**overrides).checked(require_secrets=require_secrets)


class ListenError(OSError):
    """The address to serve on cannot be bound (in use, not local, not resolvable)."""


BACKLOG = 2048


def listen(host: str, port: int) -> socket.socket:
    """
    Bind and listen on ``host:port`` before anything else starts, so a port in use is one clear error.

    :param host: the address (a name, IPv4 or IPv6).
    :param port: the port (0: any free one).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as err:
        raise ListenError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as err:
        sock.close()
        hint = " (another process, perhaps another bridge, uses it)" if err.errno == errno.EADDRINUSE else ""
        raise ListenError(f"cannot listen on {host}:{port}: {err.strerror}{hint}") from None
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from airflow_provider_mavi.bridge.app import create_app
    from airflow_provider_mavi.bridge.redact import RedactingFilter
    from airflow_provider_mavi.bridge.serving import AnnouncingServer

    settings = _settings(args, require_secrets=True)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    if args.fd is not None:  # a listening socket handed over by a parent (BridgeServer in tests)
        sock, where = socket.socket(fileno=args.fd), f"fd {args.fd}"
    else:
        sock = listen(settings.host, settings.port)
        host, port = sock.getsockname()[:2]
        where = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_level=settings.log_level.lower(),
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=5,
        server_header=False,
        backlog=BACKLOG,
    )
    for name in ("uvicorn.access", "uvicorn.error", "httpx"):
        logging.getLogger(name).addFilter(RedactingFilter(settings.relay_urls))
    server = AnnouncingServer(config, where)
    # Everything imported so far (FastAPI, SQLAlchemy, ...) lives as long as the process: keep the cyclic
    # garbage collector from walking it again and again under load (it took about a tenth of the CPU of a
    # callback burst, see BENCHMARKS.md).
    gc.freeze()
    server.run(sockets=[sock])
    return 0 if server.started else 1


def _url(args: argparse.Namespace) -> int:
    settings = _settings(args, require_secrets=True)
    if not settings.public_url:
        raise BridgeConfigError(
            "set MAVI_BRIDGE_PUBLIC_URL (or --public-url) to the bridge's public HTTPS base URL, "
            "e.g. https://bridge.example.com or https://airflow.example.com/mavi for the plugin"
        )
    print(f"{settings.public_url.rstrip('/')}/callbacks/{settings.callback_secret}")
    print(
        "Register this URL in the Mavi console (Webhooks Settings). Keep it private: anyone who has it can "
        "post callbacks to your bridge.",
        file=sys.stderr,
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    store = open_store(_settings(args, require_secrets=False).db_url)
    try:
        store.ensure_schema()
        callbacks = store.get_callbacks([args.job_id])
        deliveries = store.get_deliveries(args.job_id)
        job = store.get_job(args.job_id)
    finally:
        store.close()
    if not callbacks and job is None:
        print(f"mavi-bridge: nothing stored for job {args.job_id}", file=sys.stderr)
        return 1
    found = {
        "callback": callbacks[0].to_json() if callbacks else None,
        "deliveries": [d.to_json() for d in deliveries],
        "job": job.to_json() if job else None,
    }
    print(json.dumps(found, indent=2, sort_keys=True))
    return 0


def _purge(args: argparse.Namespace) -> int:
    seconds = parse_duration(args.older_than)
    store = open_store(_settings(args, require_secrets=False).db_url)
    try:
        store.ensure_schema()
        counts = store.purge(time.time() - seconds)
    finally:
        store.close()
    print(
        f"purged {counts.callbacks} callbacks, {counts.deliveries} deliveries and "
        f"{counts.jobs} jobs older than {args.older_than}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the ``mavi-bridge`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="mavi-bridge",
        description="Durable webhook inbox for Mavi callbacks. Settings come from MAVI_BRIDGE_* variables; "
        "flags override them. The secret and the token are read from the environment only "
        "(MAVI_BRIDGE_CALLBACK_SECRET, MAVI_BRIDGE_API_TOKEN, or their *_FILE variants).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db-url", help="SQLAlchemy URL of the store (MAVI_BRIDGE_DB_URL)")

    serve = commands.add_parser("serve", help="run the bridge")
    db(serve)
    serve.add_argument("--host", help="address to bind (MAVI_BRIDGE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (MAVI_BRIDGE_PORT, default 8787)")
    serve.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--max-body", type=int, help="largest callback body in bytes (MAVI_BRIDGE_MAX_BODY)")
    serve.add_argument("--relay-url", action="append", help="also forward every callback here (repeatable)")
    serve.add_argument(
        "--allow-network", action="append", help="accept callbacks only from this CIDR (repeatable)"
    )
    serve.add_argument("--forwarded-allow-ips", help="proxies whose X-Forwarded-For is trusted")
    serve.add_argument("--retention", help="purge callbacks older than this every hour, e.g. 30d")
    serve.add_argument("--log-level", help="debug, info, warning (MAVI_BRIDGE_LOG_LEVEL)")
    serve.add_argument("--access-log", action="store_true", help="log every request (secrets redacted)")
    serve.set_defaults(func=_serve)

    url = commands.add_parser("url", help="print the callback URL to register in the Mavi console")
    url.add_argument("--public-url", help="public base URL of the bridge (MAVI_BRIDGE_PUBLIC_URL)")
    url.set_defaults(func=_url)

    show = commands.add_parser("show", help="print what is stored for a job")
    show.add_argument("job_id")
    db(show)
    show.set_defaults(func=_show)

    purge = commands.add_parser("purge", help="delete callbacks and jobs older than a duration")
    purge.add_argument("--older-than", required=True, help="e.g. 30d, 12h, 90m")
    db(purge)
    purge.set_defaults(func=_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run ``mavi-bridge``; returns the exit status.

    :param argv: the arguments (``sys.argv[1:]`` when ``None``).
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (BridgeConfigError, StoreError) as err:
        print(f"mavi-bridge: {err}", file=sys.stderr)
        return 2
    except ListenError as err:
        print(f"mavi-bridge: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
