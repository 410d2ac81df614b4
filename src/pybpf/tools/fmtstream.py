"""A word-wrapping text stream with GNU argp's layout rules (glibc ``argp-fmtstream``).

The C tools print ``--help`` and ``--usage`` through glibc's argp, which wraps text at a right
margin, indents new lines to a left margin and continuation lines to a wrap margin. To print the
same bytes, :class:`FmtStream` follows the same rules:

* text is collected, and *scanned* whenever a margin is changed or the position is asked for
  (:meth:`point`); only the text written since the last scan is looked at, so a break is never
  placed in text written before the last margin change;
* a line is too long when its column reaches ``rmargin``; it is broken at the last blank at or
  before column ``rmargin``, the blanks before that point are dropped, and the next line starts
  with ``wmargin`` spaces; a word longer than the line stays whole on an overlong line;
* a new line starts with ``lmargin`` spaces (except right after a wrap with ``wmargin`` 0).
"""

from __future__ import annotations

__all__ = ["FmtStream"]

_BLANKS = " \t"


class FmtStream:
    """Collects text and wraps it as argp does; :meth:`getvalue` returns the finished text."""

    __slots__ = ("lmargin", "rmargin", "wmargin", "point_col", "_done", "_pending")

    def __init__(self, lmargin: int = 0, rmargin: int = 79, wmargin: int = 0) -> None:
        self.lmargin = lmargin
        self.rmargin = rmargin
        self.wmargin = wmargin
        self.point_col = 0
        self._done: list[str] = []
        self._pending = ""

    def write(self, text: str) -> None:
        self._pending += text

    def set_lmargin(self, value: int) -> int:
        """Scan what was written, then change the left margin; returns the old one."""
        self.update()
        old, self.lmargin = self.lmargin, value
        return old

    def set_wmargin(self, value: int) -> int:
        """Scan what was written, then change the wrap margin; returns the old one."""
        self.update()
        old, self.wmargin = self.wmargin, value
        return old

    def point(self) -> int:
        """The current output column (after scanning)."""
        self.update()
        return self.point_col if self.point_col >= 0 else 0

    def getvalue(self) -> str:
        self.update()
        return "".join(self._done)

    def update(self) -> None:
        """Wrap the text written since the last scan into finished lines."""
        buf = self._pending
        if not buf:
            return
        self._pending = ""
        out: list[str] = []
        start = 0                       # where scanning of the current line starts in buf
        rmargin = self.rmargin
        while start < len(buf):
            if self.point_col == 0 and self.lmargin:
                out.append(" " * self.lmargin)
                self.point_col = self.lmargin
            if self.point_col < 0:
                self.point_col = 0
            nl = buf.find("\n", start)
            if nl < 0:
                if self.point_col + (len(buf) - start) < rmargin:
                    # a partial line that still fits: remember where it ends
                    self.point_col += len(buf) - start
                    out.append(buf[start:])
                    start = len(buf)
                    break
                nl = len(buf)
            elif self.point_col + (nl - start) < rmargin:
                out.append(buf[start:nl + 1])
                self.point_col = 0
                start = nl + 1
                continue
            start = self._wrap(buf, start, nl, out)
            if start < 0:       # a long word that ends the line: keep it whole
                start = -start
        self._done.extend(out)

    def _wrap(self, buf: str, start: int, nl: int, out: list[str]) -> int:
        """Break the too-long line buf[start:nl]; returns where scanning continues
        (negated when the line was kept as it is)."""
        limit = start + (self.rmargin - self.point_col)     # first column past the margin
        p = limit
        while p >= start and (p >= len(buf) or buf[p] not in _BLANKS):
            p -= 1
        nextline = p + 1
        if nextline > start:
            # drop the run of blanks before the break point
            p -= 1
            while p >= start and buf[p] in _BLANKS:
                p -= 1
            end = p + 1
        else:
            # one word wider than the line: find its end and break after it
            p = limit + 1
            while p < nl and buf[p] not in _BLANKS:
                p += 1
            if p >= nl:
                out.append(buf[start:nl + 1])
                self.point_col = 0
                return -(nl + 1)
            end = p
            p += 1
            while p < len(buf) and buf[p] in _BLANKS:
                p += 1
            nextline = p
        out.append(buf[start:end] + "\n" + " " * self.wmargin)
        # the rest of the text continues after the wrap margin
        self.point_col = self.wmargin if self.wmargin else -1
        return nextline
