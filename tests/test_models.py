"""The model store: bundled defaults, GGUF metadata without loading, clear errors for bad files."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from engine import model_files
from engine.gguf_info import ModelFileError, read_info, sha256_file
from models import store


@pytest.fixture(scope="module")
def default_model():
    return model_files.default_model_path()


def test_bundled_defaults_are_found(default_model):
    assert default_model.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    emb = model_files.default_embedder_dir()
    assert (emb / "modules.json").is_file()
    name, folder = model_files.resolve_embedder(None)
    assert name == "all-MiniLM-L6-v2" and folder == emb


def test_metadata_of_default_model(default_model):
    info = read_info(default_model)
    assert info.architecture == "llama"
    assert info.has_chat_template and "im_start" in (info.chat_template or "")
    assert info.quantization == "Q4_1"
    assert info.context_length and info.context_length >= 2048
    assert info.block_count == 30 and info.head_count == 9 and info.head_count_kv == 3
    assert 100_000_000 < info.parameters < 200_000_000
    assert info.vocab_size == 49152
    assert info.size_bytes == default_model.stat().st_size
    assert info.file_type == "model"


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        read_info(tmp_path / "nope.gguf")


def test_not_a_gguf(tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello, I am text")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        read_info(bad)


def test_empty_and_folder(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        read_info(empty)
    with pytest.raises(ModelFileError, match="folder"):
        read_info(tmp_path)


def test_metadata_is_remembered_until_the_file_changes(tmp_path):
    """read_info runs on every question (Runtime.load validates the model): parse once per file
    version, and again when the file is replaced, even at the same path."""
    from benchmarks.random_adapter import write_random_lora

    path = tmp_path / "lora.gguf"
    write_random_lora(path, architecture="llama", width=8, blocks=2)
    first = read_info(path)
    assert read_info(path) is first and first.tensor_count == 4
    write_random_lora(path, architecture="llama", width=8, blocks=3)
    again = read_info(path)
    assert again is not first and again.tensor_count == 6
    path.write_bytes(b"not a gguf")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        read_info(path)


def test_corrupt_gguf_is_a_clear_error(tmp_path):
    """Right magic, garbage after it: the parser fails, we give one line, no traceback."""
    bad = tmp_path / "corrupt.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    with pytest.raises(ModelFileError) as info:
        read_info(bad)
    message = str(info.value)
    assert "corrupt.gguf" in message and "\n" not in message
    assert "damaged" in message or "truncated" in message


def test_truncated_gguf_is_detected(tmp_path, default_model):
    cut = tmp_path / "cut.gguf"
    with open(default_model, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(default_model.stat().st_size // 2))
    with pytest.raises(ModelFileError, match="truncated") as info:
        read_info(cut)
    assert "\n" not in str(info.value)


def test_truncated_inside_header(tmp_path, default_model):
    cut = tmp_path / "head.gguf"
    with open(default_model, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(300))
    with pytest.raises(ModelFileError, match="truncated"):
        read_info(cut)


def test_register_list_unregister(tmp_path, default_model):
    copy = tmp_path / "my-model.gguf"
    os.link(default_model, copy) if os.stat(default_model).st_dev == os.stat(
        tmp_path).st_dev else shutil.copy(default_model, copy)
    entry = store.register_model(copy, name="Mine")
    assert entry.name == "Mine" and entry.info and entry.info.architecture == "llama"
    names = [m.name for m in store.list_models()]
    assert names[0].startswith("SmolLM2") and "Mine" in names
    copy.unlink()
    broken = next(m for m in store.list_models() if m.name == "Mine")
    assert broken.info is None and "not found" in (broken.error or "")
    assert store.unregister_model(copy) is True
    assert "Mine" not in [m.name for m in store.list_models()]


def test_register_rejects_bad_file(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"GGUF")
    with pytest.raises(ModelFileError):
        store.register_model(bad)
    assert [m for m in store.list_models() if not m.bundled] == []


def test_resolve_model_default_and_missing(tmp_path, default_model):
    path, info = model_files.resolve_model(None)
    assert path == default_model.resolve() and info.architecture == "llama"
    with pytest.raises(ModelFileError, match="not found"):
        model_files.resolve_model(tmp_path / "missing.gguf")


def test_sha256_is_cached_until_file_changes(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(b"abc" * 1000)
    cache = tmp_path / "hashes.json"
    expected = hashlib.sha256(b"abc" * 1000).hexdigest()
    assert sha256_file(f, cache) == expected
    assert expected in cache.read_text()
    f.write_bytes(b"changed")
    os.utime(f, ns=(1, 1))
    assert sha256_file(f, cache) == hashlib.sha256(b"changed").hexdigest()


def test_embedder_folder_errors(tmp_path):
    with pytest.raises(ModelFileError, match="never downloads"):
        model_files.resolve_embedder("sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(ModelFileError, match="not a sentence-transformers"):
        model_files.resolve_embedder(str(tmp_path))
