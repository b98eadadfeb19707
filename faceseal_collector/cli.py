"""``faceseal-collector --db PATH --port N [--host 127.0.0.1]``: run the collector.

It listens on loopback unless told otherwise: exposing it is a deliberate
operator decision (put it behind a TLS reverse proxy).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

import uvicorn

from faceseal_collector.app import create_app

DEFAULT_PORT = 8750


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError("a port is a number from 1 to 65535")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceseal-collector",
        description="Receive, verify and store signed FaceSeal telemetry batches.",
    )
    parser.add_argument("--db", required=True, type=Path, help="sqlite file to store into")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        app = create_app(args.db)
    except (OSError, sqlite3.Error) as error:
        print(f"faceseal-collector: cannot open database {args.db}: {error}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, server_header=False)
    return 0
