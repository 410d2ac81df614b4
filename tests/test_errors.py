"""The error hierarchy: errno mapping and messages that say what and why."""

import errno

import pytest

import pybpf
from pybpf.errors import ENOTSUPP, error_from_errno


@pytest.mark.parametrize(
    "err, cls",
    [
        (errno.EPERM, pybpf.PermissionDeniedError),
        (errno.EACCES, pybpf.PermissionDeniedError),
        (errno.ENOENT, pybpf.NotFoundError),
        (errno.EEXIST, pybpf.ExistsError),
        (errno.EBUSY, pybpf.BusyError),
        (errno.EINVAL, pybpf.InvalidArgumentError),
        (errno.E2BIG, pybpf.NoSpaceError),
        (errno.EOPNOTSUPP, pybpf.NotSupportedError),
        (ENOTSUPP, pybpf.NotSupportedError),
        (errno.EBADF, pybpf.BadFileError),
        (errno.EIO, pybpf.BPFError),
    ],
)
def test_errno_selects_subclass(err, cls):
    exc = error_from_errno(err, "creating map 'counts'", op="BPF_MAP_CREATE")
    assert type(exc) is cls
    assert exc.errno == err
    text = str(exc)
    assert text.startswith("BPF_MAP_CREATE: creating map 'counts': ")
    assert errno.errorcode.get(err, "ENOTSUPP") in text


def test_key_not_found_is_a_key_error_with_plain_message():
    exc = error_from_errno(errno.ENOENT, "key 01 00 00 00 not in map 'm'",
                           op="BPF_MAP_LOOKUP_ELEM", cls=pybpf.KeyNotFoundError)
    assert isinstance(exc, KeyError) and isinstance(exc, pybpf.BPFError)
    assert str(exc).startswith("BPF_MAP_LOOKUP_ELEM: key 01 00 00 00 not in map 'm'")


def test_verifier_error_shows_tail_and_keeps_log():
    log = "\n".join(f"line {i}" for i in range(100)) + "\nR0 !read_ok\n"
    exc = pybpf.VerifierError("loading program 'p'", log, errno=errno.EACCES, op="BPF_PROG_LOAD")
    assert exc.log == log
    text = str(exc)
    assert "R0 !read_ok" in text and "line 99" in text
    assert "line 0\n" not in text and "81 earlier lines omitted" in text
