"""The revision store of a OneNote section file (.one): objects and their properties.

OneNote 2010 and later save a section as a "revision store" ([MS-ONESTORE], Microsoft's open
specification): a tree of file node lists (linked fragments of small records) that declares
object spaces (the section, and one per page), their revisions, and in each revision the objects
with their property sets. This module reads that far and no further: for each object space, the
objects of its latest revision (later revisions override earlier declarations of the same
object) and its root object. What the objects mean (pages, outlines, rich text) is
:mod:`engine.ingest.loaders.onenote`'s.

Only committed data is read: the transaction log says how many nodes of each list were
committed, so a section saved while OneNote was interrupted reads as its last complete save.
Every reference is bounds-checked; a damaged list or property set raises :class:`StoreError`
with what was wrong.
"""

from __future__ import annotations

import itertools
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_FRAGMENT_MAGIC = 0xA4567AB1F5F7F4C4
_NIL = 0xFFFFFFFFFFFFFFFF
#: Nodes per list, lists per file: more is a damaged (or hostile) file.
MAX_NODES = 2_000_000
MAX_DEPTH = 16

# File node ids ([MS-ONESTORE] 2.4.3)
_OS_MANIFEST_LIST_REF, _OS_MANIFEST_ROOT = 0x008, 0x004
_REVISION_LIST_REF = 0x010
_REVISION_START6, _REVISION_START7, _REVISION_END = 0x01E, 0x01F, 0x01C
_GID_TABLE_START2, _GID_ENTRY, _GID_ENTRY2, _GID_ENTRY3, _GID_TABLE_END = (
    0x022, 0x024, 0x025, 0x026, 0x028)
_ROOT_REF3 = 0x05A
_OBJECT_GROUP_LIST_REF = 0x0B0
_DECLARATION2, _DECLARATION2_LARGE = 0x0A4, 0x0A5
_READ_ONLY_DECLARATION2, _READ_ONLY_DECLARATION2_LARGE = 0x0C4, 0x0C5
_ENCRYPTION_KEY = 0x07C
_TERMINATOR = 0x0FF

# Property types ([MS-ONESTORE] 2.6.6)
_NO_DATA, _BOOL, _ONE, _TWO, _FOUR, _EIGHT, _BYTES = 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7
_OID, _OIDS, _OSID, _OSIDS, _CTXID, _CTXIDS = 0x8, 0x9, 0xA, 0xB, 0xC, 0xD
_PROP_ARRAY, _PROP_SET = 0x10, 0x11
_FIXED_SIZES = {_NO_DATA: 0, _BOOL: 0, _ONE: 1, _TWO: 2, _FOUR: 4, _EIGHT: 8}


class StoreError(Exception):
    """The file is not a revision store, or a part of it is damaged (one line)."""


class Encrypted(StoreError):
    """A password-protected section: its objects are encrypted."""


#: An object or object space identity: a GUID and a number.
ExtendedGUID = tuple[str, int]


@dataclass
class PropertySet:
    """An object's properties by 32-bit property id (type bits included, the bool bit
    cleared): bytes, ints, bools, identities, lists of identities or nested property sets."""

    values: dict[int, Any] = field(default_factory=dict)


@dataclass
class StoreObject:
    jcid: int
    props: PropertySet


@dataclass
class ObjectSpace:
    """The objects of an object space's latest revision, and its root objects by role."""

    objects: dict[ExtendedGUID, StoreObject] = field(default_factory=dict)
    roots: dict[int, ExtendedGUID] = field(default_factory=dict)


def guid_at(data: bytes, pos: int) -> str:
    """The GUID stored (little-endian fields) at ``pos``."""
    raw = data[pos:pos + 16]
    if len(raw) != 16:
        raise StoreError(f"a reference past the end of the file (offset {pos})")
    return str(uuid.UUID(bytes_le=raw))


class Reader:
    """Reads a revision store from bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        if len(data) < 1024:
            raise StoreError("too short for a OneNote file")
        try:
            self.committed = self._transaction_log()
        except StoreError:  # a damaged log: every node the lists hold is read
            self.committed = {}
        #: object spaces that could not be read, and why (a damaged page costs only itself)
        self.damaged: dict[ExtendedGUID, str] = {}
        #: objects left out of spaces that were read: damaged property sets
        self.damaged_objects = 0

    # -- primitives ----------------------------------------------------------------------------

    def _unpack(self, fmt: str, pos: int) -> tuple[Any, ...]:
        try:
            return struct.unpack_from(fmt, self.data, pos)
        except struct.error as exc:
            raise StoreError(f"a reference past the end of the file (offset {pos})") from exc

    def _guid(self, pos: int) -> str:
        return guid_at(self.data, pos)

    def _extended_guid(self, pos: int) -> ExtendedGUID:
        return self._guid(pos), self._unpack("<I", pos + 16)[0]

    def _chunk(self, stp: int, cb: int) -> tuple[int, int]:
        if stp == _NIL or stp + cb > len(self.data):
            raise StoreError(f"a reference past the end of the file (offset {stp})")
        return stp, cb

    # -- file node lists -----------------------------------------------------------------------

    def _transaction_log(self) -> dict[int, int]:
        """How many nodes of each file node list were committed (list id -> count)."""
        stp, cb = self._unpack("<QI", 160)
        transactions = self._unpack("<I", 96)[0]
        committed: dict[int, int] = {}
        pending: dict[int, int] = {}
        done = 0
        seen: set[int] = set()
        while stp != _NIL and stp and done < transactions and stp not in seen:
            seen.add(stp)
            stp, cb = self._chunk(stp, cb)
            for pos in range(stp, stp + cb - 12 - 7, 8):
                src, count = self._unpack("<II", pos)
                if src == 1:  # the end of one transaction: its counts are committed
                    committed.update(pending)
                    pending.clear()
                    done += 1
                    if done == transactions:
                        break
                elif src:
                    pending[src] = count
            stp, cb = self._unpack("<QI", stp + cb - 12)
        return committed

    def nodes(self, stp: int, cb: int, depth: int = 0) -> list[tuple[int, int, int, int]]:
        """(node id, base type, position of its data, its size) of the committed nodes of the
        list whose first fragment is at ``stp``."""
        if depth > MAX_DEPTH:
            raise StoreError("file node lists nested too deeply")
        out: list[tuple[int, int, int, int]] = []
        limit: int | None = None
        seen: set[int] = set()
        while stp not in (0, _NIL) and stp not in seen:
            seen.add(stp)
            stp, cb = self._chunk(stp, cb)
            magic, list_id, _sequence = self._unpack("<QII", stp)
            if magic != _FRAGMENT_MAGIC:
                if out:  # a later fragment damaged: the list up to it is kept
                    break
                raise StoreError("a file node list fragment without its signature")
            if limit is None:
                limit = self.committed.get(list_id, MAX_NODES)
            pos, end = stp + 16, stp + cb - 20
            while pos + 4 <= end and len(out) < limit:
                (header,) = self._unpack("<I", pos)
                node_id, size = header & 0x3FF, (header >> 10) & 0x1FFF
                if node_id in (0, _TERMINATOR) or size < 4:
                    break
                out.append((node_id, header, pos + 4, size - 4))
                pos += size
            if limit is not None and len(out) >= limit:
                break
            stp, cb = self._unpack("<QI", stp + cb - 20)
        return out

    def _reference(self, header: int, pos: int) -> tuple[int, int, int]:
        """The FileNodeChunkReference at the start of a node's data: (stp, cb, its size)."""
        stp_format, cb_format = (header >> 23) & 0x3, (header >> 25) & 0x3
        stp_fmt, stp_scale = (("<Q", 1), ("<I", 1), ("<H", 8), ("<I", 8))[stp_format]
        cb_fmt, cb_scale = (("<I", 1), ("<Q", 1), ("<B", 8), ("<H", 8))[cb_format]
        (stp,) = self._unpack(stp_fmt, pos)
        stp_size = struct.calcsize(stp_fmt)
        (cb,) = self._unpack(cb_fmt, pos + stp_size)
        return stp * stp_scale, cb * cb_scale, stp_size + struct.calcsize(cb_fmt)

    # -- object spaces -------------------------------------------------------------------------

    def object_spaces(self) -> tuple[ExtendedGUID | None, dict[ExtendedGUID, ObjectSpace]]:
        """The root object space's identity and every object space of the file."""
        stp, cb = self._unpack("<QI", 172)
        root: ExtendedGUID | None = None
        spaces: dict[ExtendedGUID, ObjectSpace] = {}
        for node_id, header, pos, _size in self.nodes(stp, cb):
            if node_id == _OS_MANIFEST_ROOT:
                root = self._extended_guid(pos)
            elif node_id == _OS_MANIFEST_LIST_REF:
                try:
                    ref_stp, ref_cb, used = self._reference(header, pos)
                    gosid = self._extended_guid(pos + used)
                except StoreError:
                    continue  # a damaged reference: that object space cannot be found
                try:
                    spaces[gosid] = self._object_space(ref_stp, ref_cb)
                except Encrypted:
                    raise
                except StoreError as exc:
                    self.damaged[gosid] = str(exc)
        return root, spaces

    def _object_space(self, stp: int, cb: int) -> ObjectSpace:
        """An object space from its manifest list: the last revision manifest list it names."""
        revisions = None
        for node_id, header, pos, _size in self.nodes(stp, cb, 1):
            if node_id == _REVISION_LIST_REF:
                revisions = self._reference(header, pos)[:2]
        space = ObjectSpace()
        if revisions is not None:
            self._revisions(*revisions, space)
        return space

    def _revisions(self, stp: int, cb: int, space: ObjectSpace) -> None:
        """Apply every revision of a revision manifest list in order: a later declaration of
        an object replaces the earlier one, a later root reference the earlier root."""
        tables: dict[ExtendedGUID, dict[int, str]] = {}
        table: dict[int, str] = {}
        base: dict[int, str] = {}
        rid: ExtendedGUID | None = None
        for node_id, header, pos, _size in self.nodes(stp, cb, 2):
            if node_id in (_REVISION_START6, _REVISION_START7):
                rid = self._extended_guid(pos)
                base = tables.get(self._extended_guid(pos + 20), {})  # the revision it builds on
                table = {}
            elif node_id == _REVISION_END and rid is not None:
                tables[rid] = table
            elif node_id == _ENCRYPTION_KEY:
                raise Encrypted("password-protected section")
            elif node_id == _GID_TABLE_START2:
                table = {}
            elif node_id == _GID_ENTRY:
                index, = self._unpack("<I", pos)
                table[index] = self._guid(pos + 4)
            elif node_id == _GID_ENTRY2:  # an entry of the revision it builds on, renumbered
                source, target = self._unpack("<II", pos)
                if source in base:
                    table[target] = base[source]
            elif node_id == _GID_ENTRY3:  # a run of them
                source, count, target = self._unpack("<III", pos)
                for i in range(min(count, MAX_NODES)):
                    if source + i in base:
                        table[target + i] = base[source + i]
            elif node_id == _ROOT_REF3:
                oid = self._extended_guid(pos)
                role, = self._unpack("<I", pos + 20)
                space.roots[role] = oid
            elif node_id == _OBJECT_GROUP_LIST_REF:
                ref_stp, ref_cb, _ = self._reference(header, pos)
                self._object_group(ref_stp, ref_cb, space)
            elif node_id in (_DECLARATION2, _DECLARATION2_LARGE, _READ_ONLY_DECLARATION2,
                             _READ_ONLY_DECLARATION2_LARGE):
                self._declaration(header, pos, table, space)

    def _object_group(self, stp: int, cb: int, space: ObjectSpace) -> None:
        """An object group: its own global identification table, then its declarations."""
        table: dict[int, str] = {}
        for node_id, header, pos, _size in self.nodes(stp, cb, 3):
            if node_id == _GID_TABLE_START2:
                table = {}
            elif node_id == _GID_ENTRY:
                index, = self._unpack("<I", pos)
                table[index] = self._guid(pos + 4)
            elif node_id in (_DECLARATION2, _DECLARATION2_LARGE, _READ_ONLY_DECLARATION2,
                             _READ_ONLY_DECLARATION2_LARGE):
                self._declaration(header, pos, table, space)

    def _declaration(self, header: int, pos: int, table: dict[int, str],
                     space: ObjectSpace) -> None:
        stp, cb, used = self._reference(header, pos)
        compact, jcid = self._unpack("<II", pos + used)
        oid = _resolve(compact, table)
        if oid is None:
            return
        try:
            stp, cb = self._chunk(stp, cb)
            props = PropSetParser(self, stp, stp + cb, table).read()
        except StoreError:  # one damaged object costs only itself (and what only it reaches)
            self.damaged_objects += 1
            return
        space.objects[oid] = StoreObject(jcid, props)


def _resolve(compact: int, table: dict[int, str]) -> ExtendedGUID | None:
    """A CompactID (an index into the global identification table, and a number)."""
    if compact == 0:
        return None
    guid = table.get(compact >> 8)
    return (guid, compact & 0xFF) if guid else None


class PropSetParser:
    """An ObjectSpaceObjectPropSet: its streams of object, object space and context ids, then
    its property set, whose id-typed properties take the streams' ids in order."""

    def __init__(self, reader: Reader, start: int, end: int, table: dict[int, str]) -> None:
        self.reader, self.pos, self.end, self.table = reader, start, end, table
        self.oids = self._ids()
        self.osids: Iterator[ExtendedGUID | None] = iter(())
        self.ctxids: Iterator[ExtendedGUID | None] = iter(())
        if not self._osid_absent:  # the object ids' header says whether object space ids follow
            self.osids = self._ids()
            if self._extended:  # and theirs whether context ids follow
                self.ctxids = self._ids()

    def _take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > self.end:
            raise StoreError("a property set runs past its object")
        values = struct.unpack_from(fmt, self.reader.data, self.pos)
        self.pos += size
        return values

    def _ids(self) -> Iterator[ExtendedGUID | None]:
        (header,) = self._take("<I")
        count = header & 0xFFFFFF
        self._extended = bool(header >> 30 & 1)  # ExtendedStreamsPresent
        self._osid_absent = bool(header >> 31)  # OsidStreamNotPresent
        if count * 4 > self.end - self.pos:
            raise StoreError("an id stream runs past its object")
        return iter([_resolve(c, self.table) for c in self._take(f"<{count}I")])

    def read(self, depth: int = 0) -> PropertySet:
        if depth > MAX_DEPTH:
            raise StoreError("property sets nested too deeply")
        (count,) = self._take("<H")
        ids = self._take(f"<{count}I") if count else ()
        props = PropertySet()
        for prid in ids:
            kind = (prid >> 26) & 0x1F
            key = prid & 0x7FFFFFFF
            props.values[key] = self._value(kind, prid, depth)
        return props

    def _value(self, kind: int, prid: int, depth: int) -> Any:
        if kind == _BOOL:
            return bool(prid >> 31)
        if kind in _FIXED_SIZES:
            size = _FIXED_SIZES[kind]
            if not size:
                return None
            return int.from_bytes(self._take(f"<{size}s")[0], "little")
        if kind == _BYTES:
            (size,) = self._take("<I")
            return self._take(f"<{size}s")[0]
        if kind in (_OID, _OSID, _CTXID):
            return next({_OID: self.oids, _OSID: self.osids, _CTXID: self.ctxids}[kind], None)
        if kind in (_OIDS, _OSIDS, _CTXIDS):
            (n,) = self._take("<I")
            stream = {_OIDS: self.oids, _OSIDS: self.osids, _CTXIDS: self.ctxids}[kind]
            return list(itertools.islice(stream, n))
        if kind == _PROP_ARRAY:
            (n,) = self._take("<I")
            if n == 0:
                return []
            self._take("<I")  # the id of the element property sets
            return [self.read(depth + 1) for _ in range(min(n, MAX_NODES))]
        if kind == _PROP_SET:
            return self.read(depth + 1)
        raise StoreError(f"an unknown property type 0x{kind:x}")
