"""``mavi-emulator``: serve the emulator, or write a sample video.

    mavi-emulator serve --host 127.0.0.1 --port 8091 --api-key KEY [--webhook-url URL] [--qps N] ...
    mavi-emulator sample-video PATH [--seconds N --width W --height H --fps F]

The key may come from ``MAVI_EMULATOR_API_KEY`` instead of the command line (which other users can read).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from airflow_provider_mavi.emulator.settings import API_KEY_ENV, EmulatorSettings

#: How to get what the emulator needs beyond the provider: PyAV, in the ``emulator`` extra.
INSTALL_EXTRA = "pip install 'airflow-provider-mavi[emulator]'"
#: Exit code when the ``emulator`` extra is missing (argparse uses 2 for usage errors).
EXIT_MISSING_EXTRA = 3
_EXTRA_MODULES = ("av",)

#: Probability flags: each sets one fault's probability (see ``faults.py`` for every option).
_FAULT_FLAGS = {
    "fault_duplicate": "duplicate_callback",
    "fault_drop": "drop_callback",
    "fault_failure": "failure_callback",
    "fault_5xx": "server_error",
    "fault_reset": "connection_reset",
    "fault_limit": "rate_limit",
}


def _parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(prog="mavi-emulator", description="Local emulator of the Mavi v2 API.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the emulated API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8091)
    serve.add_argument("--api-key", help=f"the account key (default: ${API_KEY_ENV})")
    serve.add_argument("--webhook-url", help="the account-wide webhook (also PUT /_emulator/webhook)")
    serve.add_argument("--qps", type=float, default=1.0, help="requests per endpoint per second (default 1)")
    serve.add_argument(
        "--data-dir", type=Path, help="where uploads and frames are kept (default: a temp dir)"
    )
    serve.add_argument("--seed", type=int, help="seed for ids and faults (reproducible runs)")
    serve.add_argument("--frame-interval", type=float, default=1.0, help="seconds between frames (default 1)")
    serve.add_argument("--success-code", choices=["200", "0000"], default="200")
    serve.add_argument("--rate-limit-style", type=int, choices=[400, 429], default=400)
    serve.add_argument("--balance-usd", type=float, help="account credit; unlimited when absent")
    serve.add_argument("--upload-waiting-seconds", type=float, default=0.0)
    serve.add_argument("--upload-processing-seconds", type=float, default=0.0)
    serve.add_argument("--callback-attempts", type=int, default=4, help="deliveries tried per callback")
    serve.add_argument("--callback-backoff", type=float, default=0.5, help="first redelivery delay (doubles)")
    serve.add_argument("--workers", type=int, default=2, help="media worker threads")
    serve.add_argument(
        "--split-seconds",
        type=float,
        default=60.0,
        help="/video/split segment length without segment_seconds",
    )
    serve.add_argument(
        "--fetch-max-bytes", type=int, default=256 * 1024 * 1024, help="largest file fetched from a URL"
    )
    serve.add_argument(
        "--max-upload-bytes", type=int, default=3 * 1024**3, help="largest uploaded file (default 3 GiB)"
    )
    serve.add_argument(
        "--max-body-bytes", type=int, default=64 * 1024**2, help="largest other request body (default 64 MiB)"
    )
    serve.add_argument("--fetch-timeout", type=float, default=60.0, help="seconds a URL fetch may take")
    serve.add_argument(
        "--text-embedding-shape",
        choices=["array", "plural", "singular"],
        default="array",
        help="text embedding answer: array (newest docs), plural or singular (older pages)",
    )
    serve.add_argument(
        "--no-vlm-json-fence", action="store_true", help="Gemini JSON answers without the ```json fence"
    )
    serve.add_argument("--faults", help="fault configuration as JSON (the body of PUT /_emulator/faults)")
    serve.add_argument(
        "--fault-callback-delay", type=float, metavar="SECONDS", help="delay every callback by SECONDS"
    )
    serve.add_argument(
        "--fault-slow", type=float, metavar="SECONDS", help="answer every request SECONDS late"
    )
    for flag, name in _FAULT_FLAGS.items():
        serve.add_argument(
            "--" + flag.replace("_", "-"),
            type=float,
            metavar="P",
            help=f"probability of {name.replace('_', ' ')}",
        )
    serve.add_argument("--log-level", default="info")

    sample = sub.add_parser("sample-video", help="write a deterministic sample MP4")
    sample.add_argument("path", type=Path)
    sample.add_argument("--seconds", type=float, default=6.0)
    sample.add_argument("--width", type=int, default=320)
    sample.add_argument("--height", type=int, default=240)
    sample.add_argument("--fps", type=float, default=10)
    sample.add_argument("--no-audio", action="store_true")
    return parser


def _faults(args: argparse.Namespace) -> dict[str, Any]:
    """Collect the fault configuration from ``--faults`` and the shortcut flags.

    :param args: parsed arguments.
    """
    faults: dict[str, Any] = json.loads(args.faults) if args.faults else {}
    if args.fault_callback_delay is not None:
        faults["callback_delay"] = {"probability": 1.0, "seconds": args.fault_callback_delay}
    if args.fault_slow is not None:
        faults["slow_response"] = {"probability": 1.0, "seconds": args.fault_slow}
    for flag, name in _FAULT_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            faults[name] = {**faults.get(name, {}), "probability": value}
    return faults


def _settings(args: argparse.Namespace) -> EmulatorSettings:
    """Build the settings from the arguments (the key from the environment when not given).

    :param args: parsed arguments.
    :raises ValueError: when a setting is invalid.
    """
    return EmulatorSettings.from_env(
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        qps=args.qps,
        data_dir=args.data_dir,
        seed=args.seed,
        frame_interval=args.frame_interval,
        success_code=200 if args.success_code == "200" else "0000",
        rate_limit_style=args.rate_limit_style,
        balance_usd=args.balance_usd,
        upload_waiting_seconds=args.upload_waiting_seconds,
        upload_processing_seconds=args.upload_processing_seconds,
        callback_attempts=args.callback_attempts,
        callback_backoff=args.callback_backoff,
        workers=args.workers,
        split_seconds=args.split_seconds,
        fetch_max_bytes=args.fetch_max_bytes,
        fetch_timeout=args.fetch_timeout,
        max_upload_bytes=args.max_upload_bytes,
        max_body_bytes=args.max_body_bytes,
        text_embedding_shape=args.text_embedding_shape,
        vlm_json_fence=not args.no_vlm_json_fence,
        faults=_faults(args),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``mavi-emulator``; without the ``emulator`` extra, one line that says how to install it.

    :param argv: arguments (default: ``sys.argv[1:]``).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _EXTRA_MODULES:
            raise
        print(
            f"mavi-emulator: PyAV (module {exc.name!r}) is not installed; it comes with the emulator extra: "
            f"{INSTALL_EXTRA}",
            file=sys.stderr,
        )
        return EXIT_MISSING_EXTRA


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the chosen command.

    :param parser: the parser (for usage errors).
    :param args: parsed arguments.
    """
    if args.command == "sample-video":
        from airflow_provider_mavi.emulator.samples import make_sample_video

        path = make_sample_video(
            args.path,
            seconds=args.seconds,
            width=args.width,
            height=args.height,
            fps=args.fps,
            audio=not args.no_audio,
        )
        print(path)
        return 0
    import uvicorn

    from airflow_provider_mavi.emulator.app import create_app

    try:
        app = create_app(_settings(args))
    except ValueError as exc:  # includes a bad --faults (JSON or fault configuration)
        parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # uvicorn's access log would print signed-upload tokens; the emulator logs ids and statuses itself.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
