"""Iterator reading against the live kernel: bpf_map iterators (tests/progs/events_iter.bpf.c)
that print a text table and write binary records about every map.

Oracles: the kernel's description of the maps this test creates (BPF_OBJ_GET_INFO_BY_FD
through Map.info(), and bpftool map show), and the two iterator programs against each other
(text rows and binary records describe the same maps).
"""

from __future__ import annotations

import ctypes
import struct

import pytest

from pybpf.errors import BPFError, InvalidArgumentError
from pybpf.events import iter as bpf_iter
from pybpf.maps import Map
from pybpf.sys import bpf, uapi
from pybpf.sys.fd import FD

from tests.sys.helpers import bpftool_json

pytestmark = pytest.mark.kernel

SRC = "events_iter.bpf.c"
RECORD = struct.Struct("=IIIIIIQ")     # id, type, key_size, value_size, max_entries, magic, seq_num
MAGIC = 0x5EEDF00D


class MapRecord(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("type", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32),
                ("magic", ctypes.c_uint32), ("seq_num", ctypes.c_uint64)]


@pytest.fixture(scope="module")
def offset_flags(vmlinux_btf):
    """-D flags with the offsets of struct bpf_map's fields in the running kernel."""
    from pybpf.btf import Kind

    sid = vmlinux_btf.find_one("bpf_map", Kind.STRUCT)
    flags = []
    for field, macro in [("id", "MAP_ID_OFF"), ("map_type", "MAP_TYPE_OFF"),
                         ("key_size", "KEY_SIZE_OFF"), ("value_size", "VALUE_SIZE_OFF"),
                         ("max_entries", "MAX_ENTRIES_OFF")]:
        path = vmlinux_btf.member_path(sid, field)
        flags.append(f"-D{macro}={sum(m.bit_offset for _, m in path) // 8}")
    return tuple(flags)


def iter_link(prog) -> FD:
    """BPF_LINK_CREATE with BPF_TRACE_ITER (pybpf.link does this for real; not needed here)."""
    attr = uapi.bpf_attr()
    attr.link_create.prog_fd = prog.fileno()
    attr.link_create.attach_type = uapi.BPF_TRACE_ITER
    return FD(bpf(uapi.BPF_LINK_CREATE, attr, what="iterator link"), "iterator link")


@pytest.fixture
def iter_obj(load_events, offset_flags, vmlinux_btf):
    obj = load_events(SRC, flags=offset_flags, vmlinux=vmlinux_btf)
    maps = [Map.create("hash", 4, 77, 33, name="evt_iter_a"),
            Map.create("array", 4, 13, 7, name="evt_iter_b"),
            Map.create("ringbuf", 0, 0, 1 << 16, name="evt_iter_c")]
    links = {name: iter_link(prog) for name, prog in obj.progs.items()}
    yield obj, maps, links
    for link in links.values():
        link.close()
    for m in maps:
        m.close()


def described(m: Map) -> tuple[int, int, int, int, int]:
    info = m.info()
    return info.id, int(info.type), info.key_size, info.value_size, info.max_entries


def test_text_iterator(iter_obj):
    obj, maps, links = iter_obj
    text = bpf_iter.read_text(links["maps_text"])
    rows = text.splitlines()
    assert rows[0] == "id type key_size value_size max_entries"
    assert rows[-1] == "end"
    table = {int(r.split()[0]): tuple(int(x) for x in r.split()) for r in rows[1:-1]}
    for m in maps:
        assert table[m.id] == described(m)
        shown = bpftool_json("map", "show", "id", str(m.id))
        assert (shown["bytes_key"], shown["bytes_value"], shown["max_entries"]) == described(m)[2:]
    # streaming line by line gives the same lines (a new pass: the same maps)
    assert [r for r in bpf_iter.lines(links["maps_text"]) if r.split()[0] in {str(m.id) for m in maps}] == \
        [r for r in rows if r.split()[0] in {str(m.id) for m in maps}]


def test_binary_iterator_records(iter_obj):
    obj, maps, links = iter_obj
    link = links["maps_binary"]
    as_tuples = list(bpf_iter.records(link, RECORD))
    assert as_tuples and all(t[5] == MAGIC for t in as_tuples)
    assert [t[6] for t in as_tuples] == list(range(len(as_tuples)))
    by_id = {t[0]: t[:5] for t in as_tuples}
    for m in maps:
        assert by_id[m.id] == described(m)
    as_ctypes = list(bpf_iter.records(link, MapRecord))
    as_bytes = list(bpf_iter.records(link, None, size=RECORD.size))
    mine = {m.id for m in maps}
    pick = lambda rows: [r for r in rows if r[0] in mine]  # noqa: E731
    assert pick([(r.id, r.type, r.key_size, r.value_size, r.max_entries) for r in as_ctypes]) == \
        pick([t[:5] for t in as_tuples])
    assert pick([RECORD.unpack(b)[:5] for b in as_bytes]) == pick([t[:5] for t in as_tuples])
    raw = bpf_iter.read(link)
    assert len(raw) % RECORD.size == 0
    if len(raw) % 36:
        with pytest.raises(BPFError, match="ended"):
            list(bpf_iter.records(link, None, size=36))
    with pytest.raises(InvalidArgumentError):
        list(bpf_iter.records(link, None))


def test_with_pybpf_link(iter_obj):
    """The Link that pybpf.link.iter.attach_iter returns is read the same way."""
    from pybpf.link.iter import attach_iter

    obj, maps, links = iter_obj
    with attach_iter(obj.progs["maps_text"]) as link:
        rows = bpf_iter.read_text(link).splitlines()
    table = {int(r.split()[0]): tuple(int(x) for x in r.split()) for r in rows[1:-1]}
    for m in maps:
        assert table[m.id] == described(m)
    with attach_iter(obj.progs["maps_binary"]) as link:
        assert {r.id for r in bpf_iter.records(link, MapRecord)} >= {m.id for m in maps}


def test_link_forms(iter_obj):
    obj, maps, links = iter_obj
    fd = links["maps_text"]

    class WithFd:
        def __init__(self, fd):
            self.fd = fd

    texts = [bpf_iter.read_text(x) for x in (fd, fd.fileno(), WithFd(fd))]
    ids = [{ln.split()[0] for ln in t.splitlines()[1:-1]} for t in texts]
    for s in ids:
        assert {str(m.id) for m in maps} <= s
    with bpf_iter.open_iter(fd) as it:
        assert it.fileno() > 2
    with pytest.raises(InvalidArgumentError):
        bpf_iter.read("not a link")
