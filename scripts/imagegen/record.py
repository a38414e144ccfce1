"""Record: an immutable value with named fields, declared as a ``NamedTuple`` is, cheaper to define.

A plain run defines some twenty value classes as it imports; ``typing.NamedTuple`` compiles each
field's annotation and generates code for every class, about 0.6 M instructions a class (15 M of
a one-image run). A Record subclass costs a twentieth of that. Its annotated names are its fields,
in order (a subclass's come after its parent's); a field given a value has that default::

    class Price(Record):
        model: str
        usd: float = 0.0

Instances are immutable, equal and hashed by value, and have ``_replace``, ``_asdict``, ``_fields``
and ``_field_defaults`` as a NamedTuple's do. They are not tuples: no indexing, unpacking or
ordering. Type checkers read a Record as a frozen dataclass (``dataclass_transform``), so
constructor calls are checked.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar, TypeVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: the decorator only informs type checkers, which read the branch above
    def dataclass_transform(**_: Any) -> Any:
        return lambda cls: cls

_R = TypeVar("_R", bound="Record")
_MISSING: Any = object()  # a field with no default that was not given


@dataclass_transform(frozen_default=True)
class Record:
    """The base of every value class; see the module's docstring."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _field_defaults: ClassVar[dict[str, Any]] = {}
    _blank: ClassVar[dict[str, Any]] = {}
    _required: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The class's own annotations: in its namespace up to Python 3.13; from 3.14 (evaluated lazily)
        # only through the attribute, which reads the class's own too.
        notes = cls.__dict__.get("__annotations__")
        if notes is None:
            notes = getattr(cls, "__annotations__", {})
        own = [name for name, note in notes.items() if not str(note).replace("typing.", "").startswith("ClassVar")]
        cls._fields = cls._fields + tuple(name for name in own if name not in cls._fields)
        given = {name: cls.__dict__[name] for name in own if name in cls.__dict__}
        cls._field_defaults = {**cls._field_defaults, **given}
        cls._blank = {name: cls._field_defaults.get(name, _MISSING) for name in cls._fields}
        cls._required = tuple(name for name in cls._fields if name not in cls._field_defaults)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        state = dict(self._blank)  # every field, in order: its default, or _MISSING
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} fields but {len(args)} were given")
        state.update(zip(fields, args, strict=False))  # the rest by keyword or default
        if kwargs:
            self._check_keywords(kwargs, fields[:len(args)])
            state.update(kwargs)
        missing = [key for key in self._required if state[key] is _MISSING]
        if missing:
            raise TypeError(f"{type(self).__name__}() missing field(s) {', '.join(map(repr, missing))}")
        object.__setattr__(self, "__dict__", state)

    def _check_keywords(self, kwargs: dict[str, Any], positional: tuple[str, ...]) -> None:
        name = type(self).__name__
        for key in positional:
            if key in kwargs:
                raise TypeError(f"{name}() got multiple values for field {key!r}")
        if not kwargs.keys() <= self._blank.keys():
            unknown = sorted(kwargs.keys() - self._blank.keys())
            raise TypeError(f"{name}() got unexpected field(s) {', '.join(map(repr, unknown))}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: make a changed copy with _replace({key}=...)")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"

    def _replace(self: _R, **changes: Any) -> _R:
        """A copy with ``changes`` applied (unknown names are a TypeError)."""
        return type(self)(**{**self.__dict__, **changes})

    def _asdict(self) -> dict[str, Any]:
        """The fields and their values, in declaration order."""
        return dict(self.__dict__)
