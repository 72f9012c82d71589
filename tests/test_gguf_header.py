"""The fast GGUF header reader: the same tables as the gguf package, one-line errors otherwise."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.gguf_header import HeaderError, read_header
from engine.model_files import default_model_path


@pytest.fixture(scope="module")
def model() -> Path:
    return default_model_path()


@pytest.fixture(scope="module")
def head(model) -> bytes:
    """The bundled model's header (key-values and tensor table), without the tensor data."""
    header = read_header(model)
    return model.read_bytes()[: min(t.data_offset for t in header.tensors)]


def test_header_matches_the_gguf_package(model):
    from gguf import GGUFReader

    ours, theirs = read_header(model), GGUFReader(str(model), "r")
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for a, b in zip(ours.tensors, theirs.tensors, strict=True):
        assert a.shape == tuple(int(d) for d in b.shape)
        assert (a.data_offset, a.n_bytes, a.n_elements) == (
            int(b.data_offset), int(b.n_bytes), int(b.n_elements))
    assert set(ours.fields) == {k for k in theirs.fields if not k.startswith("GGUF.")}
    assert ours.fields["general.architecture"] == "llama"
    assert ours.fields["tokenizer.ggml.tokens"] == len(theirs.fields["tokenizer.ggml.tokens"].data)
    assert ours.fields["tokenizer.chat_template"].startswith("{%")


@given(cut=st.integers(min_value=0, max_value=10**9))
def test_any_truncated_header_is_a_header_error(tmp_path_factory, head, cut):
    """Cut anywhere in the header: a HeaderError that says where, never another exception."""
    cut %= len(head)
    path = tmp_path_factory.mktemp("cut") / "model.gguf"
    path.write_bytes(head[:cut])
    if cut == 0:  # mmap refuses an empty file
        with pytest.raises((HeaderError, ValueError)):
            read_header(path)
        return
    with pytest.raises(HeaderError) as info:
        read_header(path)
    assert "\n" not in str(info.value)


@given(offset=st.integers(min_value=4, max_value=10**9), byte=st.integers(0, 255))
def test_a_corrupted_header_byte_never_crashes_the_reader(tmp_path_factory, head, offset, byte):
    """Flip one byte of the header: the reader returns or raises HeaderError, nothing else."""
    offset %= len(head)
    data = bytearray(head)
    data[offset] = byte
    path = tmp_path_factory.mktemp("flip") / "model.gguf"
    path.write_bytes(bytes(data))
    with contextlib.suppress(HeaderError):
        read_header(path)
