"""The data dir resolution, atomic writes, and settings that survive corruption."""

from __future__ import annotations

import json

import pytest

from engine import paths, settings


def test_data_dir_follows_env_then_override(satchel_home, tmp_path):
    assert paths.data_dir() == satchel_home.resolve()
    assert satchel_home.is_dir()
    other = tmp_path / "elsewhere"
    paths.set_data_dir(other)
    assert paths.data_dir() == other.resolve()
    assert paths.index_dir().parent == other.resolve()


def test_data_dir_that_is_a_file_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    paths.set_data_dir(blocker)
    with pytest.raises(paths.DataDirError, match="not a folder") as info:
        paths.data_dir()
    assert "\n" not in str(info.value)
    paths.set_data_dir(blocker / "below")
    with pytest.raises(paths.DataDirError, match="cannot create"):
        paths.data_dir()


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "f.txt"
    paths.atomic_write_text(target, "one")
    paths.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_settings_roundtrip_and_defaults():
    s, warnings = settings.load()
    assert warnings == [] and s == settings.Settings()
    s.top_k = 7
    s.model_path = "/models/x.gguf"
    s.watched_folders = ["/docs"]
    settings.save(s)
    loaded, warnings = settings.load()
    assert warnings == []
    assert loaded.top_k == 7 and loaded.model_path == "/models/x.gguf"
    assert loaded.watched_folders == ["/docs"]
    assert json.loads(paths.settings_file().read_text())["schema_version"] == 1


def test_corrupt_settings_are_backed_up_and_reset():
    path = paths.settings_file()
    path.write_text("{ this is not json", encoding="utf-8")
    s, warnings = settings.load()
    assert s == settings.Settings()
    assert len(warnings) == 1 and "backed up" in warnings[0] and "\n" not in warnings[0]
    backups = list(path.parent.glob("settings.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == "{ this is not json"


def test_bad_values_fall_back_per_key_and_keep_the_rest():
    paths.settings_file().write_text(json.dumps({
        "top_k": "five", "n_ctx": 10, "temperature": 0.7, "unknown": 1, "n_threads": True,
        "retrieval_mode": "magic", "watched_folders": [1, 2]}))
    s, warnings = settings.load()
    assert s.temperature == 0.7
    assert s.top_k == settings.Settings().top_k
    assert s.n_ctx == settings.Settings().n_ctx
    assert s.n_threads == 0 and s.retrieval_mode == "hybrid" and s.watched_folders == []
    joined = " | ".join(warnings)
    for key in ("top_k", "n_ctx", "n_threads", "retrieval_mode", "watched_folders"):
        assert key in joined


def test_newer_schema_is_read_with_a_warning():
    paths.settings_file().write_text(json.dumps({"schema_version": 99, "top_k": 3}))
    s, warnings = settings.load()
    assert s.top_k == 3 and any("newer" in w for w in warnings)


def test_corrupt_settings_in_a_read_only_folder_are_a_warning_not_a_traceback(monkeypatch):
    path = paths.settings_file()
    path.write_text("{not json", encoding="utf-8")

    def refuse(self, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "replace", refuse)  # root ignores chmod, so refuse here
    loaded, warnings = settings.load()
    assert loaded == settings.Settings()
    assert len(warnings) == 1 and "could not be backed up" in warnings[0]
    assert "Permission denied" in warnings[0] and "\n" not in warnings[0]
    assert path.read_text(encoding="utf-8") == "{not json"  # left as it was


def test_a_new_data_dir_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    """It holds the text of the user's documents, their questions and answers: other accounts
    of a shared computer must not read it (it was created 755, its files 644)."""
    import stat

    new = tmp_path / "new" / "satchel"
    paths.set_data_dir(new)
    assert stat.S_IMODE(paths.data_dir().stat().st_mode) == 0o700
    chosen = tmp_path / "shared"
    chosen.mkdir(mode=0o755)
    chosen.chmod(0o755)
    paths.set_data_dir(chosen)
    paths.data_dir()
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o755  # the owner chose it: left as it is


def test_the_default_data_dir_is_made_private_also_when_an_older_version_made_it(
        tmp_path, monkeypatch):
    import stat

    monkeypatch.delenv(paths.ENV_HOME, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    paths.set_data_dir(None)
    monkeypatch.setattr(paths, "_made_private", set())
    fresh = paths.data_dir()
    assert fresh.parent == tmp_path / "data"
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    fresh.chmod(0o755)  # as Satchel before this change left it
    monkeypatch.setattr(paths, "_made_private", set())  # a new process
    assert stat.S_IMODE(paths.data_dir().stat().st_mode) == 0o700
