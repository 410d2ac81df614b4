"""A word-wrapping text stream that lays text out exactly as glibc's ``argp-fmtstream`` does.

The C tools print ``--help`` and ``--usage`` through glibc's argp, which wraps text at a right
margin, starts new lines at a left margin and continuation lines at a wrap margin. To print
the same bytes in every case, :class:`FmtStream` models the C stream itself: a buffer (200
bytes, grown on demand) into which text is copied, *scanned* for wrapping only when a margin
changes, the position is asked for, or the buffer must be flushed. The model keeps the C
stream's observable quirks:

* a break is only placed in text written since the last scan;
* ``printf`` reserves 150 bytes (flushing when less is free) and leaves vsnprintf's NUL after
  its text;
* when a line ends exactly at the margin, the wrap search looks at the byte just past the
  written text, which is whatever an earlier write left there (a fresh buffer holds zeros);
* wrapping inserts a newline plus ``wmargin`` spaces, or writes the spaces straight to the
  output when the buffer has no room (so they can land before buffered text, as in C).
"""

from __future__ import annotations

__all__ = ["FmtStream"]

_INIT_BUF_SIZE = 200
_PRINTF_SIZE_GUESS = 150
_NL = 0x0A
_SP = 0x20
_TAB = 0x09


class FmtStream:
    """argp's formatting stream (see the module docstring); :meth:`getvalue` finishes it."""

    __slots__ = ("lmargin", "rmargin", "wmargin", "point_col", "point_offs", "buf", "p", "out")

    def __init__(self, lmargin: int = 0, rmargin: int = 79, wmargin: int = 0) -> None:
        if wmargin < 0:
            raise ValueError("truncating streams (wmargin < 0) are not modelled")
        self.lmargin = lmargin
        self.rmargin = rmargin
        self.wmargin = wmargin
        self.point_col = 0
        self.point_offs = 0
        self.buf = bytearray(_INIT_BUF_SIZE)
        self.p = 0
        self.out = bytearray()

    # ------------------------------------------------------------------ writing
    def puts(self, text: str) -> None:
        """``__argp_fmtstream_puts``."""
        self.write_bytes(text.encode())

    write = puts

    def write_bytes(self, data: bytes) -> None:
        """``__argp_fmtstream_write``."""
        n = len(data)
        if not n:
            return
        if self.p + n > len(self.buf):
            self._ensure(n)
        self.buf[self.p:self.p + n] = data
        self.p += n

    def putc(self, ch: str) -> None:
        """``__argp_fmtstream_putc``."""
        if self.p >= len(self.buf):
            self._ensure(1)
        self.buf[self.p] = ord(ch)
        self.p += 1

    def printf(self, text: str) -> None:
        """``__argp_fmtstream_printf`` of already formatted ``text``."""
        data = text.encode()
        guess = _PRINTF_SIZE_GUESS
        while True:
            self._ensure(guess)
            avail = len(self.buf) - self.p
            # vsnprintf stores at most avail - 1 bytes and a terminating NUL
            k = min(len(data), avail - 1)
            self.buf[self.p:self.p + k] = data[:k]
            self.buf[self.p + k] = 0
            if len(data) >= avail:
                guess = len(data) + 1
                continue
            break
        self.p += len(data)

    def _ensure(self, amount: int) -> None:
        if len(self.buf) - self.p < amount:
            self.update()
            self.out += self.buf[:self.p]
            self.p = 0
            self.point_offs = 0
            if len(self.buf) < amount:
                self.buf.extend(bytes(amount))      # realloc(old + amount); fresh bytes

    # ------------------------------------------------------------------ margins
    def set_lmargin(self, value: int) -> int:
        """Scan what was written, then change the left margin; returns the old one."""
        if self.p > self.point_offs:
            self.update()
        old, self.lmargin = self.lmargin, value
        return old

    def set_wmargin(self, value: int) -> int:
        """Scan what was written, then change the wrap margin; returns the old one."""
        if self.p > self.point_offs:
            self.update()
        old, self.wmargin = self.wmargin, value
        return old

    def point(self) -> int:
        """The current output column (after scanning)."""
        if self.p > self.point_offs:
            self.update()
        return self.point_col if self.point_col >= 0 else 0

    def getvalue(self) -> str:
        """Scan and flush everything (``__argp_fmtstream_free``); the whole output."""
        self.update()
        self.out += self.buf[:self.p]
        self.p = self.point_offs = 0
        return self.out.decode()

    # ------------------------------------------------------------------ wrapping
    def _byte(self, i: int) -> int:
        b = self.buf
        return b[i] if 0 <= i < len(b) else 0

    def _blank(self, i: int) -> bool:
        return self._byte(i) in (_SP, _TAB)

    def update(self) -> None:
        """Wrap the text written since the last scan (``__argp_fmtstream_update``)."""
        b = self.buf
        buf = self.point_offs
        while buf < self.p:
            if self.point_col == 0 and self.lmargin != 0:
                pad = self.lmargin
                if self.p + pad < len(b):
                    n = self.p - buf
                    b[buf + pad:buf + pad + n] = b[buf:buf + n]
                    self.p += pad
                    b[buf:buf + pad] = b" " * pad
                    buf += pad
                else:
                    self.out += b" " * pad
                self.point_col = pad
            length = self.p - buf
            nl = b.find(b"\n", buf, self.p)
            if self.point_col < 0:
                self.point_col = 0
            if nl < 0:
                if self.point_col + length < self.rmargin:
                    self.point_col += length
                    break
                nl = self.p
            elif self.point_col + (nl - buf) < self.rmargin:
                self.point_col = 0
                buf = nl + 1
                continue

            # the line is too long: break it at the last blank before the margin
            r = self.rmargin - 1
            wm = self.wmargin
            p = buf + (r + 1 - self.point_col)
            while p >= buf and not self._blank(p):
                p -= 1
            nextline = p + 1
            if nextline > buf:
                if p >= buf:
                    p -= 1
                    while p >= buf and self._blank(p):
                        p -= 1
                nl = p + 1
            else:
                # a word longer than the line: it stays whole, the break comes after it
                p = buf + (r + 1 - self.point_col)
                p += 1
                while p < nl and not self._blank(p):
                    p += 1
                if p == nl:
                    self.point_col = 0
                    buf = nl + 1
                    continue
                nl = p
                p += 1
                while self._blank(p):
                    p += 1
                nextline = p

            at_end = nextline == buf + length + 1
            short_of_room = (len(b) - nl < wm + 1) if at_end else (nextline - (nl + 1) < wm)
            if short_of_room and self.p > nextline:
                if len(b) - self.p > wm + 1:
                    mv = self.p - nextline
                    b[nl + 1 + wm:nl + 1 + wm + mv] = b[nextline:nextline + mv]
                    nextline = nl + 1 + wm
                    length = nextline + mv - buf
                    b[nl] = _NL
                    nl += 1
                else:
                    self.out += b[:nl] + b"\n"
                    length += buf
                    nl = buf = 0
            else:
                b[nl] = _NL
                nl += 1
            if nextline - nl >= wm or (at_end and len(b) - nextline >= wm):
                b[nl:nl + wm] = b" " * wm
                nl += wm
            else:
                self.out += b" " * wm
            if nl < nextline:
                n = buf + length - nextline
                b[nl:nl + n] = b[nextline:nextline + n]
            length -= nextline - buf
            buf = nl
            self.p = nl + length
            self.point_col = wm if wm else -1
        self.point_offs = self.p
