"""The command-line interface: argparse front-end over the engine (``satchel ...``)."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(data: Any) -> None:
    """Print a ``--json`` result: indented, non-ASCII kept readable, newline-terminated."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
