"""Command-line parsing that behaves like GNU argp, as libbpf-tools use it.

A tool declares its options (:class:`Option`) and a handler; :meth:`Argp.parse` reads ``argv``
exactly as glibc's ``argp_parse`` over ``getopt_long`` would:

* short options cluster (``-Tx``), take their argument attached or as the next word
  (``-u1000``, ``-u 1000``); long options take ``--uid=1000`` or ``--uid 1000`` and may be
  abbreviated to any unique prefix; ``--`` ends the options; options and operands may be mixed
  (operands are handled after all options, as GNU getopt permutes them);
* argp's own options: ``-?``/``--help``, ``--usage``, ``-V``/``--version`` and the hidden
  ``--program-name`` and ``--HANG``;
* ``--help`` and ``--usage`` text laid out by argp's rules (option order, columns, wrapping at
  79 columns, see :mod:`pybpf.tools.fmtstream`);
* errors with getopt's and argp's messages and exit status 64 (``EX_USAGE``).

Nothing is printed or exited here: every outcome that ends the program is an :class:`ArgpExit`
carrying the exit status and the text for stdout and stderr.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pybpf.record import Record, field_spec
from pybpf.tools.fmtstream import FmtStream

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: tools start faster without typing
if TYPE_CHECKING:
    from typing import NoReturn, Sequence

__all__ = ["Option", "Argp", "ArgpState", "ArgpExit", "EX_USAGE", "strtol"]

#: argp's exit status for usage errors (``argp_err_exit_status``, sysexits' EX_USAGE).
EX_USAGE = 64

# argp's layout parameters (argp-help.c defaults)
_SHORT_OPT_COL = 2
_LONG_OPT_COL = 6
_OPT_DOC_COL = 29
_USAGE_INDENT = 12
_RMARGIN = 79

_DUP_ARGS_NOTE = ("Mandatory or optional arguments to long options are also mandatory or "
                  "optional for any corresponding short options.")


class Option(Record):
    """One option: ``long`` name and/or ``short`` letter, ``arg`` (the argument's name in
    help; None for a flag), ``doc``. ``hidden`` options parse but are not shown; an
    ``optional`` argument is only taken as ``--long=ARG``. ``key`` names the option for the
    handler (default: the long name, else the short letter)."""

    long: str | None
    short: str | None
    arg: str | None = None
    doc: str = ""
    hidden: bool = False
    optional: bool = False
    group: int = 0
    key: str = ""

    @property
    def name(self) -> str:
        return self.key or self.long or self.short or ""


class ArgpExit(Exception):
    """Parsing ended the program: exit with ``status`` after writing ``stdout``/``stderr``."""

    def __init__(self, status: int, stdout: str = "", stderr: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


# argp's built-in options (argp_default_options and the version option), in argp's order.
_HELP = Option("help", "?", doc="Give this help list", group=-1, key="--help")
_USAGE = Option("usage", None, doc="Give a short usage message", group=-1, key="--usage")
_PROGNAME = Option("program-name", None, "NAME", "Set the program name", hidden=True, group=-1,
                   key="--program-name")
_HANG = Option("HANG", None, "SECS", "Hang for SECS seconds (default 3600)", hidden=True,
               optional=True, group=-1, key="--HANG")
_VERSION = Option("version", "V", doc="Print program version", group=-1, key="--version")
_BUILTIN = (_HELP, _USAGE, _PROGNAME, _HANG, _VERSION)


class ArgpState(Record, frozen=False):
    """What a handler sees: the program ``name`` used in messages, and argp's exits."""

    argp: "Argp"
    name: str
    positional_count: int = 0
    extra: dict = field_spec(default_factory=dict)

    def usage(self, message: str | None = None) -> NoReturn:
        """``argp_usage()``, preceded by the tool's own message line (as the C tools print
        ``Invalid UID ...`` to stderr just before)."""
        err = (message + "\n") if message is not None else ""
        raise ArgpExit(EX_USAGE, "", err + self.argp.short_usage(self.name))

    def error(self, message: str) -> NoReturn:
        """``argp_error()``: ``NAME: message`` and the ``Try ...`` line."""
        raise ArgpExit(EX_USAGE, "", f"{self.name}: {message}\n" + self.argp.see_text(self.name))

    def help_to_stderr(self) -> NoReturn:
        """``argp_state_help(state, stderr, ARGP_HELP_STD_HELP)``: full help on stderr, exit 0."""
        raise ArgpExit(0, "", self.argp.help(self.name))


Handler = Callable[[Option, "str | None", ArgpState], None]
#: called for each operand; returns False when the tool does not take it ("Too many arguments")
Operand = Callable[[str, ArgpState], bool]


class Argp:
    """A program's argp definition: ``name`` (for messages and help), ``doc`` (the help text
    before the options), ``options``, ``version`` (printed by ``-V``), optional
    ``bug_address``."""

    def __init__(self, name: str, doc: str, options: Sequence[Option], version: str,
                 bug_address: str | None = None) -> None:
        self.name = name
        self.doc = doc
        self.options = tuple(options)
        self.version = version
        self.bug_address = bug_address
        self.all_options = self.options + _BUILTIN
        self._short = {o.short: o for o in self.all_options if o.short}
        self._long = [o for o in self.all_options if o.long]

    # ------------------------------------------------------------------ parsing
    def parse(self, argv: Sequence[str], handler: Handler, operand: Operand | None = None,
              argv0: str | None = None) -> ArgpState:
        """Parse ``argv`` (without the program name), calling ``handler`` for each option and
        ``operand`` for each operand, in argp's order. Raises :class:`ArgpExit` when parsing
        ends the program (help, usage, version, errors)."""
        prog = argv0 or self.name
        state = ArgpState(self, self.name)
        operands: list[str] = []
        args = list(argv)
        i = 0
        while i < len(args):
            word = args[i]
            i += 1
            if word == "--":
                operands.extend(args[i:])
                break
            if word.startswith("--"):
                i = self._long_option(word[2:], args, i, prog, state, handler)
            elif word.startswith("-") and word != "-":
                i = self._short_options(word[1:], args, i, prog, state, handler)
            else:
                operands.append(word)
        for word in operands:
            if operand is None or not operand(word, state):
                raise ArgpExit(EX_USAGE, "", f"{state.name}: Too many arguments\n" + self.see_text(state.name))
            state.positional_count += 1
        return state

    def _bad(self, message: str, state: ArgpState) -> NoReturn:
        raise ArgpExit(EX_USAGE, "", message + "\n" + self.see_text(state.name))

    def _short_options(self, cluster: str, args: list[str], i: int, prog: str, state: ArgpState,
                       handler: Handler) -> int:
        pos = 0
        while pos < len(cluster):
            ch = cluster[pos]
            pos += 1
            opt = self._short.get(ch)
            if opt is None:
                self._bad(f"{prog}: invalid option -- '{ch}'", state)
            value: str | None = None
            if opt.arg is not None:
                if pos < len(cluster):
                    value, pos = cluster[pos:], len(cluster)
                elif not opt.optional:
                    if i >= len(args):
                        self._bad(f"{prog}: option requires an argument -- '{ch}'", state)
                    value = args[i]
                    i += 1
            self._dispatch(opt, value, state, handler)
        return i

    def _long_option(self, text: str, args: list[str], i: int, prog: str, state: ArgpState,
                     handler: Handler) -> int:
        name, eq, value = text.partition("=")
        exact = [o for o in self._long if o.long == name]
        if exact:
            opt = exact[0]
        else:
            found = [o for o in self._long if o.long is not None and o.long.startswith(name)]
            if not found:
                self._bad(f"{prog}: unrecognized option '--{text}'", state)
            if len(found) > 1:
                names = "".join(f" '--{o.long}'" for o in found)
                self._bad(f"{prog}: option '--{text}' is ambiguous; possibilities:{names}", state)
            opt = found[0]
        arg: str | None = None
        if eq:
            if opt.arg is None:
                self._bad(f"{prog}: option '--{opt.long}' doesn't allow an argument", state)
            arg = value
        elif opt.arg is not None and not opt.optional:
            if i >= len(args):
                self._bad(f"{prog}: option '--{opt.long}' requires an argument", state)
            arg = args[i]
            i += 1
        self._dispatch(opt, arg, state, handler)
        return i

    def _dispatch(self, opt: Option, arg: str | None, state: ArgpState, handler: Handler) -> None:
        if opt is _HELP:
            raise ArgpExit(0, self.help(state.name))
        if opt is _USAGE:
            raise ArgpExit(0, self.usage(state.name))
        if opt is _VERSION:
            raise ArgpExit(0, self.version + "\n")
        if opt is _PROGNAME:
            state.name = arg or ""
            return
        if opt is _HANG:
            seconds = strtol(arg if arg is not None else "3600")[0]
            for _ in range(max(0, min(seconds, 1 << 31))):
                time.sleep(1)
            return
        handler(opt, arg, state)

    # ------------------------------------------------------------------ help text
    # Each text below is produced by the same sequence of stream calls (puts/putc/printf,
    # margin changes) as glibc's argp-help.c, so that FmtStream wraps it identically.
    _SHORT_USAGE, _USAGE_FULL, _PRE_DOC, _SEE, _LONG, _POST_DOC, _BUG_ADDR = (1, 2, 4, 8, 16, 32, 64)

    def _help(self, name: str, flags: int) -> str:
        fs = FmtStream(rmargin=_RMARGIN)
        anything = False
        if flags & (self._SHORT_USAGE | self._USAGE_FULL):
            old_wm = fs.set_wmargin(_USAGE_INDENT)
            fs.printf(f"Usage: {name}")
            old_lm = fs.set_lmargin(_USAGE_INDENT)
            if flags & self._SHORT_USAGE:
                fs.puts(" [OPTION...]")
            else:
                self._usage_options(fs)
            fs.set_wmargin(old_wm)
            fs.set_lmargin(old_lm)
            fs.putc("\n")
            anything = True
        pre, vt, post = self.doc.partition("\v")
        if flags & self._PRE_DOC and self.doc:
            fs.puts(pre)
            if fs.point() > fs.lmargin:
                fs.putc("\n")
            anything = True
        if flags & self._SEE:
            fs.printf(self.see(name))
            anything = True
        if flags & self._LONG:
            if anything:
                fs.putc("\n")
            self._options_into(fs)
            anything = True
        if flags & self._POST_DOC and vt:
            if anything:
                fs.putc("\n")
            fs.puts(post)
            if fs.point() > fs.lmargin:
                fs.putc("\n")
            anything = True
        if flags & self._BUG_ADDR and self.bug_address:
            if anything:
                fs.putc("\n")
            fs.printf(f"Report bugs to {self.bug_address}.\n")
        return fs.getvalue()

    def see(self, name: str) -> str:
        """argp's pointer to more help (unwrapped)."""
        return f"Try `{name} --help' or `{name} --usage' for more information.\n"

    def see_text(self, name: str) -> str:
        """The pointer to more help as argp prints it (``ARGP_HELP_STD_ERR``)."""
        return self._help(name, self._SEE)

    def short_usage(self, name: str) -> str:
        """``argp_usage()``'s text: ``Usage: NAME [OPTION...]`` and the pointer to help."""
        return self._help(name, self._SHORT_USAGE | self._SEE)

    def usage(self, name: str | None = None) -> str:
        """What ``--usage`` prints: every option in one wrapped usage message."""
        return self._help(name or self.name, self._USAGE_FULL)

    def help(self, name: str | None = None) -> str:
        """What ``--help`` prints: usage line, the tool's text, the option list, notes."""
        return self._help(name or self.name, self._SHORT_USAGE | self._PRE_DOC | self._LONG
                          | self._POST_DOC | self._BUG_ADDR)

    def _sorted(self) -> list[Option]:
        """argp's help order (hol_entry_cmp): group (0, 1, ..., then -n ... -1), then the first
        letter of the first short (else long) option ignoring case, lower case first, options
        without a short letter before those with one, then the long name ignoring case."""
        def key(o: Option) -> tuple:
            group = (0, o.group) if o.group >= 0 else (1, o.group)
            short = "" if o.hidden else (o.short or "")
            long_ = None if o.hidden else o.long
            first = ord(short) if short else (ord(long_[0]) if long_ else 0)
            lower = ord(chr(first).lower()) if first else 0
            return (group, lower, -first, 1 if short else 0,
                    (0 if long_ is None else 1, (long_ or "").lower()) if not short else (0, ""))
        return sorted(self.all_options, key=key)

    def _usage_options(self, fs: FmtStream) -> None:
        entries = [o for o in self._sorted() if not o.hidden]
        flags = "".join(o.short for o in entries if o.short and o.arg is None)
        if flags:
            fs.printf(f" [-{flags}]")
        for o in entries:
            if o.short and o.arg is not None:
                if o.optional:
                    fs.printf(f" [-{o.short}[{o.arg}]]")
                else:
                    # wrapped by hand so that "[-x ARG]" is not split at its blank
                    _space(fs, 6 + len(o.arg))
                    fs.printf(f"[-{o.short} {o.arg}]")
        for o in entries:
            if o.long:
                if o.arg is None:
                    fs.printf(f" [--{o.long}]")
                elif o.optional:
                    fs.printf(f" [--{o.long}[={o.arg}]]")
                else:
                    fs.printf(f" [--{o.long}={o.arg}]")

    def _options_into(self, fs: FmtStream) -> None:
        suppressed_dup_arg = False
        for o in self._sorted():
            if o.hidden:
                continue
            old_lm = fs.set_lmargin(0)
            old_wm = fs.wmargin
            fs.set_wmargin(_SHORT_OPT_COL)
            first = True
            if o.short:
                _indent_to(fs, _SHORT_OPT_COL)
                first = False
                fs.putc("-")
                fs.putc(o.short)
                if not o.long:
                    if o.arg is not None:
                        fs.printf(f"[{o.arg}]" if o.optional else f" {o.arg}")
                elif o.arg is not None:
                    suppressed_dup_arg = True
            fs.set_wmargin(_LONG_OPT_COL)
            if o.long:
                if not first:
                    fs.puts(", ")
                _indent_to(fs, _LONG_OPT_COL)
                fs.printf(f"--{o.long}")
                if o.arg is not None:
                    fs.printf(f"[={o.arg}]" if o.optional else f"={o.arg}")
            fs.set_lmargin(0)
            if o.doc:
                col = fs.point()
                fs.set_lmargin(_OPT_DOC_COL)
                fs.set_wmargin(_OPT_DOC_COL)
                if col > _OPT_DOC_COL + 3:
                    fs.putc("\n")
                elif col >= _OPT_DOC_COL:
                    fs.puts("   ")
                else:
                    _indent_to(fs, _OPT_DOC_COL)
                fs.puts(o.doc)
            fs.set_lmargin(0)
            fs.putc("\n")
            fs.set_lmargin(old_lm)
            fs.set_wmargin(old_wm)
        if suppressed_dup_arg:
            fs.putc("\n")
            fs.puts(_DUP_ARGS_NOTE)
            fs.putc("\n")


def _indent_to(fs: FmtStream, col: int) -> None:
    needed = col - fs.point()
    while needed > 0:
        fs.putc(" ")
        needed -= 1


def _space(fs: FmtStream, ensure: int) -> None:
    """A space, or a newline when ``ensure`` more characters would reach the margin."""
    fs.putc("\n" if fs.point() + ensure >= fs.rmargin else " ")


def strtol(text: str) -> tuple[int, bool]:
    """C's ``strtol(text, NULL, 10)``: (value, out_of_range). Leading blanks and a sign are
    skipped, digits are read up to the first non-digit; no digits give 0 (without error);
    values beyond a 64-bit ``long`` saturate and report ERANGE, as glibc does."""
    s = text.lstrip(" \t\n\v\f\r")
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    n = 0
    for ch in s:
        if "0" <= ch <= "9":
            n = n * 10 + (ord(ch) - 48)
        else:
            break
    value = -n if neg else n
    if value > (1 << 63) - 1:
        return (1 << 63) - 1, True
    if value < -(1 << 63):
        return -(1 << 63), True
    return value, False
