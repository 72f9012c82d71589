"""``satchel serve``: the OpenAI-compatible API on loopback (see :mod:`engine.serve`).

Prints one line with the address once the model is loaded and the port is listening (scripts
and tests wait for it), then serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys

from engine.modes import MODES
from engine.serve import TOKEN_ENV


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve an OpenAI-compatible API on localhost",
        description="Serve the local model and your documents over an OpenAI-compatible HTTP "
        "API (/v1/models, /v1/chat/completions, /v1/embeddings) on 127.0.0.1. Model names "
        "choose the mode: satchel-base, satchel-rag, satchel-adapter:NAME, "
        "satchel-rag+adapter:NAME; 'satchel' answers in --mode.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; anything but loopback needs "
                   "--allow-remote and a token)")
    p.add_argument("--port", type=int, default=None,
                   help="port (default: the server_port setting, 8765; 0 picks a free port)")
    p.add_argument("--collection", default=None,
                   help="collection for the retrieval modes (default: settings)")
    p.add_argument("--mode", choices=MODES, default="rag",
                   help="mode of the model name 'satchel' (default rag)")
    p.add_argument("--adapter", default=None,
                   help="adapter for adapter modes when the request names none")
    p.add_argument("--model", default=None, help="a GGUF model file (default: settings)")
    p.add_argument("--token", default=None,
                   help=f"Bearer token clients must send (default: ${TOKEN_ENV}, then the "
                   "server_token setting)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow listening on a non-loopback address (other machines can then "
                   "read your documents through the API; a token is required)")
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from engine.serve.server import ServerState, serve
    from engine.serve.service import ServeConfig

    settings = args.settings
    if args.model:
        settings.model_path = args.model
    if args.adapter:
        from models.adapters import get_adapter

        get_adapter(args.adapter)  # a one-line error now rather than on the first request
    config = ServeConfig(host=args.host,
                         port=settings.server_port if args.port is None else args.port,
                         token=args.token if args.token is not None
                         else (os.environ.get(TOKEN_ENV) or settings.server_token
                               or None),
                         mode=args.mode, collection=args.collection, adapter=args.adapter,
                         allow_remote=args.allow_remote)

    def ready(state: ServerState) -> None:
        lock = " (token required)" if state.token_required else ""
        print(f"Satchel API on {state.url}{lock}: mode {state.mode}, collection "
              f"{state.collection}. Ctrl-C stops.", flush=True)

    print("satchel: loading the model...", file=sys.stderr, flush=True)
    serve(settings, config, ready)
    return 0
