"""What the window remembers between runs that is not an engine setting (``gui-state.json``).

Why separate from :class:`engine.settings.Settings`: the active collection, the collection each
watched folder feeds, and whether the first-run sample was prepared are facts about this window,
not options the CLI reads. The file is written atomically and a damaged one is simply ignored:
losing it costs a re-selected collection, never data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from engine import paths

SAMPLE_COLLECTION = "sample"
#: Where the user's own files go when the active collection is the sample.
USER_COLLECTION = "default"


@dataclass
class GuiState:
    active_collection: str = SAMPLE_COLLECTION
    first_run_done: bool = False
    #: watched folder -> the collection it is indexed into
    watched: dict[str, str] = field(default_factory=dict)
    mode: str = "rag"
    adapter: str | None = None
    adapter_scale: float = 1.0
    last_session: int | None = None
    #: collection -> the files and folders the user added to it (re-index scans them again)
    sources: dict[str, list[str]] = field(default_factory=dict)


def state_file() -> Path:
    return paths.data_dir() / "gui-state.json"


def load_state() -> GuiState:
    try:
        raw = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return GuiState()
    if not isinstance(raw, dict):
        return GuiState()
    known = {f.name for f in fields(GuiState)}
    state = GuiState()
    for key, value in raw.items():
        if key not in known:
            continue
        default = getattr(state, key)
        if key in ("adapter", "last_session") or isinstance(value, type(default)) or (
                isinstance(default, float) and isinstance(value, int)):
            setattr(state, key, value)
    return state


def save_state(state: GuiState) -> None:
    paths.atomic_write_text(state_file(), json.dumps(asdict(state), indent=2, sort_keys=True))
