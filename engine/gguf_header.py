"""A fast reader of a GGUF file's header: its key-values and tensor table, never its data.

Why not ``gguf.GGUFReader``: it builds a numpy memmap view for every part of every field,
including each of a vocabulary's ~100k token and merge strings, and took 2.7-4.5 s for the
bundled 135M model: the largest part of the first answer after launch. Here the header is
walked with ``struct`` over one buffer; arrays are skipped (only their length is kept, which is
all Satchel reads of them). ~0.1 s for the same file.

Format (GGUF v2/v3, little-endian): magic, version u32, tensor count u64, key-value count u64;
each key-value is a string key, a u32 type and the value; each tensor is a string name, u32
dimension count, u64 dimensions, u32 ggml type and u64 offset relative to the data section,
which starts at the next multiple of ``general.alignment`` (32) after the header.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class HeaderError(ValueError):
    """The bytes are not a well-formed GGUF header (the message says where it broke)."""


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    data_offset: int  # absolute, in the file
    n_elements: int
    n_bytes: int


@dataclass(frozen=True)
class Header:
    version: int
    fields: dict[str, Any]  # arrays are given as their length
    tensors: list[Tensor]


class _Cursor:
    def __init__(self, buf: Any) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise HeaderError(f"the header ends early, at byte {self.pos:,}")
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.take("<Q")
        end = self.pos + length
        if end > len(self.buf):
            raise HeaderError(f"a string runs past the end of the file at byte {self.pos:,}")
        text = bytes(self.buf[self.pos:end]).decode("utf-8", "replace")
        self.pos = end
        return text

    def skip_string(self) -> None:
        length = self.take("<Q")
        self.pos += length
        if self.pos > len(self.buf):
            raise HeaderError("a string runs past the end of the file")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.take("<I"), self.take("<Q")
            if item in _SCALARS:
                self.pos += struct.calcsize(_SCALARS[item]) * count
                if self.pos > len(self.buf):
                    raise HeaderError("an array runs past the end of the file")
            elif item == _STRING:
                for _ in range(count):
                    self.skip_string()
            else:
                for _ in range(count):
                    self.value(item)
            return count
        raise HeaderError(f"unknown value type {kind} at byte {self.pos:,}")


def _type_sizes() -> dict[int, tuple[int, int]]:
    """ggml type -> (elements per block, bytes per block), from the gguf package's table."""
    from gguf.constants import GGML_QUANT_SIZES

    return {int(kind): sizes for kind, sizes in GGML_QUANT_SIZES.items()}


def read_header(path: Path) -> Header:
    """Parse ``path``'s header; raise :class:`HeaderError` when it is not well-formed GGUF."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf)
        if bytes(buf[:4]) != b"GGUF":
            raise HeaderError("it does not start with 'GGUF'")
        cur.pos = 4
        version = cur.take("<I")
        if version not in (2, 3):
            raise HeaderError(f"GGUF version {version} is not supported")
        n_tensors, n_fields = cur.take("<Q"), cur.take("<Q")
        if n_tensors > 1 << 24 or n_fields > 1 << 24:
            raise HeaderError("implausible tensor or key counts")
        fields: dict[str, Any] = {}
        for _ in range(n_fields):
            key = cur.string()
            fields[key] = cur.value(cur.take("<I"))
        raw: list[tuple[str, tuple[int, ...], int, int]] = []
        for _ in range(n_tensors):
            name = cur.string()
            dims = cur.take("<I")
            if dims > 8:
                raise HeaderError(f"tensor {name} has {dims} dimensions")
            shape = tuple(cur.take("<Q") for _ in range(dims))
            raw.append((name, shape, cur.take("<I"), cur.take("<Q")))
        alignment = int(fields.get("general.alignment") or 32)
        start = -(-cur.pos // alignment) * alignment
    sizes = _type_sizes()
    tensors = []
    for name, shape, kind, offset in raw:
        elements = 1
        for d in shape:
            elements *= d
        block, nbytes = sizes.get(kind, (1, 0))
        if not nbytes:
            raise HeaderError(f"tensor {name} has unknown ggml type {kind}")
        tensors.append(Tensor(name, shape, kind, start + offset, elements,
                              elements // block * nbytes))
    return Header(version, fields, tensors)
