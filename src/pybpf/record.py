"""``Record``: small value classes like ``@dataclass`` ones, without code generation at import.

``@dataclass`` compiles an ``__init__``, ``__repr__``, ``__eq__`` (and for frozen classes
``__setattr__``/``__hash__``) for every class when its module is imported: about 0.1 ms a
field, 3 ms for a 30-field info struct, and importing :mod:`dataclasses` itself (with
:mod:`inspect`) costs about 10 ms. The classes every tool and CLI command imports (object specs,
section tables, info and result classes) subclass :class:`Record` instead: the fields are read
from the class annotations once, and generic methods use them. This module imports nothing, so
any layer may use it (the ELF/object spec layers must not load the kernel interface).

Behaviour matches ``@dataclass(frozen=True)`` (or ``frozen=False`` via ``frozen=False`` in
the class statement): positional or keyword construction with defaults, ``field_spec``
(``default_factory``, ``compare``, ``repr``), ``==`` and ``hash`` over the compared fields,
the same ``repr``, ``dataclasses.FrozenInstanceError`` on assignment to a frozen record.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Record", "field_spec"]

_MISSING = object()
_set = object.__setattr__


class _FieldSpec:
    __slots__ = ("default", "factory", "compare", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, compare: bool,
                 repr: bool) -> None:
        self.default = default
        self.factory = factory
        self.compare = compare
        self.repr = repr


def field_spec(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
               compare: bool = True, repr: bool = True) -> Any:
    """Like ``dataclasses.field`` (the subset records need)."""
    return _FieldSpec(default, default_factory, compare, repr)


class Record:
    """Base class: declare fields as annotations (with optional defaults), as for a
    dataclass. ``class R(Record, frozen=False)`` makes instances assignable (and, as a
    non-frozen dataclass with ``eq``, unhashable)."""

    # Subclasses may declare __slots__ for their fields (no instance dict: cheaper to build).
    __slots__ = ()

    _fields: tuple[str, ...] = ()
    _required: frozenset[str] = frozenset()
    _defaults: dict[str, Any] = {}
    _factories: dict[str, Callable[[], Any]] = {}
    _compared: tuple[str, ...] = ()
    _shown: tuple[str, ...] = ()
    _frozen: bool = True

    def __init_subclass__(cls, frozen: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: list[str] = []
        defaults: dict[str, Any] = {}
        factories: dict[str, Callable[[], Any]] = {}
        compared: list[str] = []
        shown: list[str] = []
        for klass in reversed(cls.__mro__):
            for name in klass.__dict__.get("__annotations__", {}):
                if name.startswith("_") or name in fields:
                    continue
                fields.append(name)
        seen_default = False
        for name in fields:
            value = getattr(cls, name, _MISSING)
            compare = show = True
            if isinstance(value, _FieldSpec):
                compare, show = value.compare, value.repr
                if value.factory is not None:
                    factories[name] = value.factory
                    value = _MISSING
                else:
                    value = value.default
                if value is _MISSING:
                    if name in cls.__dict__:
                        delattr(cls, name)
                else:
                    setattr(cls, name, value)
            if value is not _MISSING:
                defaults[name] = value
            if value is not _MISSING or name in factories:
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {name!r} follows default argument")
            if compare:
                compared.append(name)
            if show:
                shown.append(name)
        cls._fields = tuple(fields)
        cls._required = frozenset(n for n in fields if n not in defaults and n not in factories)
        cls._defaults = defaults
        cls._factories = factories
        cls._compared = tuple(compared)
        cls._shown = tuple(shown)
        cls._frozen = frozen
        setattr(cls, "__match_args__", tuple(fields))
        if not frozen:
            cls.__hash__ = None  # type: ignore[assignment]
            # Plain assignment for mutable records (unless the class has its own rules): the
            # frozen check below would cost a Python call on every attribute store.
            if "__setattr__" not in cls.__dict__:
                cls.__setattr__ = object.__setattr__  # type: ignore[method-assign,assignment]
            if "__delattr__" not in cls.__dict__:
                cls.__delattr__ = object.__delattr__  # type: ignore[method-assign,assignment]
        else:  # a frozen record under a mutable one checks again
            if cls.__setattr__ is object.__setattr__:
                cls.__setattr__ = Record.__setattr__  # type: ignore[method-assign]
            if cls.__delattr__ is object.__delattr__:
                cls.__delattr__ = Record.__delattr__  # type: ignore[method-assign]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if not kwargs and len(args) == len(fields):  # every field given in order: fast
            if type(self).__dictoffset__:
                self.__dict__.update(zip(fields, args))
            else:
                for key, value in zip(fields, args):
                    _set(self, key, value)
            return
        name = type(self).__qualname__
        if len(args) > len(fields):
            raise TypeError(f"{name}.__init__() takes {len(fields) + 1} positional arguments "
                            f"but {len(args) + 1} were given")
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in self._defaults and key not in self._required and key not in self._factories:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{name}.__init__() got multiple values for argument {key!r}")
            values[key] = value
        missing = [n for n in fields if n in self._required and n not in values]
        if missing:
            raise TypeError(f"{name}.__init__() missing {len(missing)} required argument"
                            f"{'s' if len(missing) > 1 else ''}: "
                            + " and ".join(repr(n) for n in missing))
        for key in fields:
            if key not in values:
                factory = self._factories.get(key)
                values[key] = factory() if factory is not None else self._defaults[key]
        if type(self).__dictoffset__:
            self.__dict__.update({key: values[key] for key in fields})
        else:
            for key in fields:
                _set(self, key, values[key])

    def _values(self, names: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in names)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._shown)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values(self._compared) == other._values(self._compared)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values(self._compared))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt through __init__: works for frozen records with and without __slots__.
        return type(self), self._values(self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            from dataclasses import FrozenInstanceError

            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._frozen:
            from dataclasses import FrozenInstanceError

            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)
