"""``tidings serve``: a live preview on 127.0.0.1 that rebuilds and reloads on every change."""

from __future__ import annotations

import argparse
import sys
import time

from ..config import load_site
from ..serve import PreviewServer


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="preview the site locally, rebuilding on every change")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--no-drafts", action="store_true", help="preview without drafts and future issues")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    load_site(args.root)  # a broken config is reported before anything starts
    server = PreviewServer(args.root, host=args.host, port=args.port, drafts=not args.no_drafts,
                           log=lambda message: print(message, file=sys.stderr, flush=True))
    with server:
        print(f"previewing at {server.url} (Ctrl+C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)
    return 0
