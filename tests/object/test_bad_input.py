"""Bad input: a clear pybpf error naming the section, symbol, map or program, and nothing left
in the kernel. Malformed files are made here from a good object (the ELF header and section
headers are edited with struct, independently of pybpf's reader)."""

from __future__ import annotations

import struct

import pytest

from pybpf.errors import BPFError, BTFError, ELFError, ObjectError, VerifierError
from pybpf.object import ObjectSpec

_SHDR = struct.Struct("<IIQQQQIIQQ")


def _sections(data: bytes) -> list[dict]:
    """Section headers of an ELF64 little-endian file, with names."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
    out = []
    for i in range(shnum):
        f = _SHDR.unpack_from(data, shoff + i * 64)
        out.append({"index": i, "hdr": shoff + i * 64, "name_off": f[0], "type": f[1], "offset": f[4],
                    "size": f[5], "link": f[6], "info": f[7], "entsize": f[9]})
    strtab = out[shstrndx]
    for s in out:
        start = strtab["offset"] + s["name_off"]
        s["name"] = data[start:data.index(b"\0", start)].decode()
    return out


def _section(data: bytes, name: str) -> dict:
    return next(s for s in _sections(data) if s["name"] == name)


@pytest.fixture
def good(build):
    path = build("obj_calls")
    with open(path, "rb") as f:
        return f.read()


def _open(data: bytes) -> ObjectSpec:
    return ObjectSpec.from_bytes(data, name="bad")


def test_truncated(good):
    for size in (0, 10, 63, 200, len(good) // 2, len(good) - 1):
        with pytest.raises(ELFError):
            _open(good[:size])


def test_wrong_machine(good):
    data = bytearray(good)
    struct.pack_into("<H", data, 18, 62)          # EM_X86_64
    with pytest.raises(ObjectError, match="not a valid eBPF object file.*EM_X86_64"):
        _open(bytes(data))


def test_wrong_class(good):
    data = bytearray(good)
    data[4] = 1                                    # ELFCLASS32
    with pytest.raises(ELFError, match="ELF32"):
        _open(bytes(data))


def test_wrong_file_type(good):
    data = bytearray(good)
    struct.pack_into("<H", data, 16, 2)           # ET_EXEC
    with pytest.raises(ObjectError, match="ET_EXEC"):
        _open(bytes(data))


def test_no_symbol_table(good):
    data = bytearray(good)
    sym = _section(good, ".symtab")
    struct.pack_into("<I", data, sym["hdr"] + 4, 1)   # SHT_SYMTAB -> SHT_PROGBITS
    with pytest.raises(BPFError, match="symbol table"):
        _open(bytes(data))


def test_relocation_outside_its_section(good):
    data = bytearray(good)
    rel = _section(good, ".relxdp")
    target = _sections(good)[rel["info"]]
    struct.pack_into("<Q", data, rel["offset"], target["size"] + 64)   # r_offset of entry #0
    with pytest.raises(ELFError, match=r"relocation #0 in section \[\d+\] '.relxdp'.*outside target"):
        _open(bytes(data))


def test_relocation_on_a_plain_instruction(good):
    data = bytearray(good)
    rel = _section(good, ".reltc")
    r_offset, = struct.unpack_from("<Q", good, rel["offset"])
    struct.pack_into("<Q", data, rel["offset"], r_offset + 8)    # the second half of the ld_imm64
    with pytest.raises(ObjectError, match=r"prog 'calls_c': invalid relo against '\w+' for insns\[\d+\]"):
        _open(bytes(data))


def test_program_crossing_its_section(good):
    data = bytearray(good)
    sym = _section(good, ".symtab")
    strtab = _sections(good)[sym["link"]]
    for i in range(sym["size"] // 24):
        off = sym["offset"] + i * 24
        name_off, info = struct.unpack_from("<IB", good, off)
        start = strtab["offset"] + name_off
        if good[start:good.index(b"\0", start)] == b"calls_a":
            struct.pack_into("<Q", data, off + 16, 1 << 20)   # st_size
    with pytest.raises(ObjectError, match="program 'calls_a'.*crosses the section boundary"):
        _open(bytes(data))


def test_bad_btf(good):
    data = bytearray(good)
    btf = _section(good, ".BTF")
    struct.pack_into("<H", data, btf["offset"], 0x1234)
    with pytest.raises(BTFError, match=r"'\.BTF'.*bad BTF magic"):
        _open(bytes(data))


def test_bad_btf_ext(good):
    data = bytearray(good)
    ext = _section(good, ".BTF.ext")
    struct.pack_into("<I", data, ext["offset"] + 4, 1 << 30)   # hdr_len
    with pytest.raises(BTFError, match=r"'\.BTF\.ext'"):
        _open(bytes(data))


def test_big_endian_refused(compile_bpf):
    path = compile_bpf(source="int x SEC_X;\n".replace("SEC_X", '__attribute__((section("xdp")))'),
                       name="obj_be", endian="bpfeb")
    with pytest.raises(ObjectError, match="endianness mismatch"):
        ObjectSpec.open(path)


# ------------------------------------------------------------------------------ objects

def test_unknown_section_name(build, no_leftovers):
    spec = ObjectSpec.open(build("obj_bad_section"))
    with no_leftovers(spec):
        with pytest.raises(ObjectError, match="prog 'mystery'.*section name 'pybpf_no_such_section'"):
            spec.load()
    spec.programs["mystery"].autoload = False      # as libbpf: loads once the program is skipped
    with spec.load() as obj:
        assert set(obj.programs) == {"fine"}
    spec.programs["mystery"].autoload = True
    spec.programs["mystery"].type = "socket_filter"  # ... or typed
    with spec.load() as obj:
        assert set(obj.programs) == {"mystery", "fine"}


def test_unsupported_map_definitions(build):
    with pytest.raises(ObjectError, match="map 'weird': unknown field 'pybpf_color'"):
        ObjectSpec.open(build("obj_bad_mapdef"))
    with pytest.raises(ObjectError, match="legacy map definitions in 'maps'"):
        ObjectSpec.open(build("obj_bad_legacy"))


@pytest.mark.parametrize("source, message", [
    ('struct { __uint(type, 1); __uint(pinning, 2); } m SEC(".maps");', "map 'm': invalid pinning value 2"),
    ('struct { __uint(max_entries, 1); } m SEC(".maps");', "map 'm': map type isn't specified"),
    ('struct { __uint(type, 1); __uint(key_size, 4); __type(key, long); } m SEC(".maps");',
     "map 'm': conflicting key size 4 != 8"),
    ('struct { __uint(type, 1); __array(values, struct { __uint(type, 2); }); } m SEC(".maps");',
     "map 'm': 'values' needs a map-in-map or prog-array map"),
    ('static struct { __uint(type, 1); } m SEC(".maps");', "map 'm': unsupported map linkage static"),
])
def test_bad_map_definitions(compile_bpf, source, message):
    text = ("#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n" + source +
            '\nSEC("xdp") int p(void *ctx) { return (long)&m; }\n')
    path = compile_bpf(source=text, name="obj_badmap", flags=("-Wno-unused-variable",))
    with pytest.raises(ObjectError, match=message):
        ObjectSpec.open(path)


@pytest.mark.kernel
def test_missing_license_for_gpl_helper(build, no_leftovers):
    spec = ObjectSpec.open(build("obj_bad_license"))
    assert spec.license == ""
    with no_leftovers(spec):
        with pytest.raises(VerifierError) as exc:
            spec.load()
    assert "needs_gpl" in str(exc.value)
    assert "GPL" in exc.value.log


@pytest.mark.kernel
@pytest.mark.parametrize("fixture, message", [
    ("obj_bad_extern", "extern 'CONFIG_PYBPF_NO_SUCH_OPTION' \\(strong\\): not resolved"),
    ("obj_bad_ksym", "extern 'pybpf_no_such_kernel_symbol' \\(strong\\): not resolved .*kallsyms"),
    ("obj_bad_kfunc", "extern \\(func ksym\\) 'bpf_pybpf_no_such_kfunc': not found in kernel or module BTFs"),
])
def test_unresolvable_strong_externs(build, fixture, message, no_leftovers):
    spec = ObjectSpec.open(build(fixture))
    with no_leftovers(spec):
        with pytest.raises(ObjectError, match=message):
            spec.load()


@pytest.mark.kernel
def test_failure_midway_releases_created_maps(build, no_leftovers):
    """A program refused after all maps exist: the maps are gone again."""
    spec = ObjectSpec.open(build("obj_maps"))
    spec.programs["tail_3"].type = "kprobe"          # loads, but cannot go into a tc prog array
    with no_leftovers(spec):
        with pytest.raises(BPFError, match="map 'jmp_table': failed to initialize slot \\[3\\] to prog 'tail_3'"):
            spec.load()
