"""pybpf.tools.argp against glibc's argp (the C tools' parser).

Oracles: a small C program linked with glibc's argp (tests/tools/argp_oracle.c, built here with
clang-19) on generated option tables, program docs and argument lists; the installed
libbpf-tools execsnoop/opensnoop on their own options; libc's strtol through ctypes.
"""

from __future__ import annotations

import ctypes
import os
import string
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.tools.argp import Argp, ArgpExit, Option, strtol

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE_SRC = os.path.join(HERE, "argp_oracle.c")


@pytest.fixture(scope="session")
def argp_oracle(tmp_path_factory):
    from tests.conftest import skip_or_fail, tool_unavailable_reason

    reason = tool_unavailable_reason("clang-19")
    if reason:
        skip_or_fail(reason)
    exe = tmp_path_factory.mktemp("argp") / "argp_oracle"
    proc = subprocess.run(["clang-19", "-O1", "-Wall", "-Werror", "-o", str(exe), ORACLE_SRC],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(exe)


def _spec(options: list[Option]) -> str:
    recs = []
    for o in options:
        flags = ("h" if o.hidden else "") + ("o" if o.optional else "")
        recs.append("\x1f".join([o.long or "", o.short or "", o.arg or "", flags, o.doc]))
    return "\x1e".join(recs)


def run_oracle(exe: str, name: str, doc: str, options: list[Option], argv: list[str]):
    proc = subprocess.run([exe, name, doc, _spec(options), *argv], capture_output=True, text=True,
                          timeout=30)
    status = proc.returncode if proc.returncode in (0, 64) else proc.returncode
    if status == 1:     # argp_parse returned an error without exiting (does not happen here)
        status = 64
    return proc.stdout, proc.stderr, status


def run_python(name: str, doc: str, options: list[Option], argv: list[str]):
    out: list[str] = []

    def handle(opt, arg, state):
        out.append(f"KEY {opt.long or opt.short} {arg if arg is not None else '(null)'}\n")

    try:
        Argp(name, doc, options, version="oracle 1.0").parse(argv, handle, argv0=name)
    except ArgpExit as exc:
        return "".join(out) + exc.stdout, exc.stderr, exc.status
    return "".join(out) + "END\n", "", 0


# --------------------------------------------------------------------------- strategies
_BUILTIN_LONG = {"help", "usage", "version", "program-name", "HANG"}
_words = st.text(alphabet="abcdefxyz", min_size=1, max_size=28)
_seps = st.sampled_from([" ", " ", " ", "  ", "\n", "   ", " \n", "\n\n"])


@st.composite
def texts(draw, max_words: int = 40) -> str:
    words = draw(st.lists(_words, max_size=max_words))
    out = ""
    for w in words:
        out += w + draw(_seps)
    return out.rstrip(" ") if draw(st.booleans()) else out


@st.composite
def option_tables(draw) -> list[Option]:
    n = draw(st.integers(1, 9))
    longs = draw(st.lists(st.text(alphabet="abcde-", min_size=1, max_size=14)
                          .filter(lambda s: not s.startswith("-") and s not in _BUILTIN_LONG),
                          min_size=n, max_size=n, unique=True))
    shorts = draw(st.lists(st.sampled_from("abcdefgqxyzABCT"), min_size=n, max_size=n, unique=True))
    options = []
    for i in range(n):
        has_long = draw(st.booleans()) or True
        has_short = draw(st.booleans())
        long_ = longs[i] if has_long else None
        short = shorts[i] if has_short else None
        arg = draw(st.one_of(st.none(), st.text(alphabet=string.ascii_uppercase + "_/", min_size=1,
                                                  max_size=24)))
        optional = arg is not None and draw(st.booleans()) and draw(st.booleans())
        hidden = draw(st.integers(0, 5)) == 0
        doc = draw(texts(max_words=14))
        options.append(Option(long_, short, arg, doc.replace("\n", " ").strip(), hidden=hidden,
                              optional=optional))
    return options


@st.composite
def argv_for(draw, options: list[Option]) -> list[str]:
    tokens = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 7))
        longs = [o.long for o in options if o.long]
        shorts = [o.short for o in options if o.short]
        if kind == 0 and longs:
            name = draw(st.sampled_from(longs))
            cut = draw(st.integers(1, len(name)))
            tok = "--" + name[:cut]
            if draw(st.booleans()):
                tok += "=" + draw(st.text(alphabet="xy1", max_size=3))
            tokens.append(tok)
        elif kind == 1 and shorts:
            tokens.append("-" + "".join(draw(st.lists(st.sampled_from(shorts + ["Z"]), min_size=1,
                                                      max_size=3))))
        elif kind == 2:
            tokens.append(draw(st.sampled_from(["--", "-", "word", "--zzz", "-Z", "--usa", "--help",
                                                "-?", "-V", "--vers", "--he", "--u", "--v", "--h"])))
        else:
            tokens.append(draw(st.text(alphabet="xyz1-", min_size=1, max_size=4)))
    return tokens


_settings = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow,
                                                              HealthCheck.data_too_large])


@_settings
@given(options=option_tables(), doc=texts(max_words=60), which=st.sampled_from(["--help", "--usage"]))
def test_help_and_usage_match_glibc(argp_oracle, options, doc, which):
    doc = doc.replace("\v", "")
    expected = run_oracle(argp_oracle, "prog", doc, options, [which])
    assert run_python("prog", doc, options, [which]) == expected


@_settings
@given(data=st.data(), options=option_tables())
def test_parsing_and_errors_match_glibc(argp_oracle, data, options):
    argv = data.draw(argv_for(options))
    expected = run_oracle(argp_oracle, "prog", "Some text.", options, argv)
    assert run_python("prog", "Some text.", options, argv) == expected


@pytest.mark.parametrize("name,doc", [
    ("p", "USAGE: execsnoop [-h] [-T] [-t] [-x] [-u UID] [-q] [-n NAME] [-l LINE] [-U] [-c CG]\n"),
    ("p", "x" * 100 + " y\n"),
    ("p", "a" * 78 + " " + "b" * 3 + "\n"),
    ("p", "a" * 79 + " b\n"),
    ("p", "a" * 80 + "\n"),
    ("p", "words   " * 30),
    ("p", "tail without newline " * 6),
])
def test_wrapping_edges_match_glibc(argp_oracle, name, doc):
    options = [Option("cgroup", "c", "/sys/fs/cgroup/unified", "Trace process in cgroup path"),
               Option("max-args", None, "MAX_ARGS", "maximum number of arguments parsed and "
                      "displayed, defaults to 20"), Option("x" * 40, "x", None, "long name")]
    for which in ("--help", "--usage"):
        assert run_python(name, doc, options, [which]) == run_oracle(argp_oracle, name, doc, options, [which])


# --------------------------------------------------------------------------- the real tools
def _run_c(tool: str, args: list[str]):
    proc = subprocess.run([tool, *args], capture_output=True, text=True, timeout=20,
                          env={**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return proc.stdout, proc.stderr, proc.returncode


def _without_bug_address(text: str) -> str:
    marker = "\nReport bugs to https://github.com/iovisor/bcc/tree/master/libbpf-tools.\n"
    return text.replace(marker, "")


# Argument lists on which the C tools stop before tracing (help, usage, errors).
EXECSNOOP_CASES = [
    ["--help"], ["-?"], ["--he"], ["-x?"], ["-h"], ["--usage"], ["--us"], ["--ti"], ["--t"],
    ["--p"], ["--u"], ["--quote=1"], ["--uid"], ["-Tqz"], ["foo"], ["foo", "bar"], ["--", "-T"],
    ["--max-args=0"], ["--max-args=61"], ["--max-args=abc"], ["-u", "-1"], ["-u", "4294967295"],
    ["-u", "99999999999999999999"], ["--program-name=zz", "-z"], ["--bogus=3"], ["-u"],
    ["-T", "--", "x"], ["-x", "foo", "-Q"], ["--max"], ["--max-args"], ["-c"], ["--time="], ["-"],
    ["--max-args", "7", "extra"],
]
OPENSNOOP_CASES = [
    ["--help"], ["-?"], ["--usage"], ["-p", "0"], ["-p", "abc"], ["-t", "-3"], ["-d", "0"],
    ["-d", "x"], ["foo", "bar"], ["-h"], ["--e=3"], ["--d"], ["--pid"], ["-p"], ["-Z"], ["--name"],
    ["-u", "-1"], ["--failed=x"], ["--t"], ["--ti"], ["--p"], ["a", "b", "c"], ["--", "-p", "1", "2"],
    ["-x", "-h"], ["-u", "4294967295"], ["--uid=99999999999999999999"],
]


@pytest.mark.parametrize("tool,args", [("execsnoop", a) for a in EXECSNOOP_CASES]
                         + [("opensnoop", a) for a in OPENSNOOP_CASES])
def test_tool_command_line_matches_libbpf_tools(require_tools, run_pybpf, tool, args):
    require_tools(f"/usr/sbin/{tool}")
    c_out, c_err, c_status = _run_c(tool, args)
    proc = run_pybpf("tool", tool, *args, check=False)
    assert (proc.stdout, proc.stderr, proc.returncode) == (
        _without_bug_address(c_out), _without_bug_address(c_err), c_status)


@pytest.mark.parametrize("tool", ["execsnoop", "opensnoop"])
def test_version_names_pybpf(run_pybpf, tool):
    proc = run_pybpf("tool", tool, "-V")
    from pybpf import __version__

    assert proc.stdout == f"{tool} (pybpf) {__version__}\n"


def test_global_options_after_tool_name_belong_to_the_tool(run_pybpf):
    # -p is pybpf's --pretty before the tool name, opensnoop's --pid after it
    proc = run_pybpf("tool", "opensnoop", "-p", "0", check=False)
    assert proc.returncode == 64 and proc.stderr.startswith("Invalid PID: 0\n")
    assert run_pybpf("-j", "tool", "list").stdout.startswith('[{"name":"execsnoop"')


# --------------------------------------------------------------------------- strtol
_libc = ctypes.CDLL(None, use_errno=True)
_libc.strtol.restype = ctypes.c_long
_libc.strtol.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]


def _c_strtol(text: str) -> tuple[int, bool]:
    ctypes.set_errno(0)
    value = _libc.strtol(text.encode(), None, 10)
    return value, ctypes.get_errno() != 0


@given(st.one_of(st.text(alphabet=" \t+-0123456789xab", max_size=30),
                 st.integers(-(1 << 70), 1 << 70).map(str)))
def test_strtol_matches_libc(text):
    assert strtol(text) == _c_strtol(text)
