"""Cheap pickling for the storage records that cross to the SQLite worker process.

A frozen, slotted dataclass pickles through the ``__getstate__``/``__setstate__`` that
``dataclasses`` writes, which call ``dataclasses.fields()`` for every object: a commit of 90
messages and 90 acks took 0.6 ms to pickle and as much to unpickle, each way. :func:`register`
gives such classes a reducer (``copyreg``) that takes the field values with one
``attrgetter`` and rebuilds the object with ``object.__new__``: the same object, several times
faster. ``__post_init__`` is not run again on the copy (it already ran on the original).
"""

from __future__ import annotations

import copyreg
import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from columba.slots import builder as _builder

#: Each registered class's field names, in order.
_NAMES: dict[type, tuple[str, ...]] = {}
#: Each class's constructor from field values in order.
_BUILDERS: dict[type, Callable[..., Any]] = {}
_set = object.__setattr__
_new = object.__new__


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """The object of ``cls`` with these field values (what :func:`register`'s reducer names).

    Raises:
        TypeError: not as many values as ``cls`` has fields.
    """
    build = _BUILDERS.get(cls)
    if build is None:
        build = _BUILDERS[cls] = _constructor(cls)
    return build(*values)


def _constructor(cls: type) -> Callable[..., Any]:
    """A slotted class's fields are set through their slot descriptors, by a constructor
    generated once per class (``columba.slots.builder``: a third of the cost of
    ``object.__setattr__``, which a frozen dataclass needs); it takes exactly one value per
    field. Other classes get theirs set one by one."""
    try:
        return _builder(cls, skip_post_init=True)
    except TypeError:  # not every field is a slot
        pass
    names = _names(cls)

    def build(*values: Any) -> Any:
        if len(values) != len(names):
            raise TypeError(f"{cls.__name__}: {len(values)} values for {len(names)} fields")
        obj: Any = _new(cls)
        for name, value in zip(names, values, strict=True):
            _set(obj, name, value)
        return obj

    return build


def register(*classes: type) -> None:
    """Pickle instances of these dataclasses by their field values."""
    for cls in classes:
        names = _names(cls)
        get = attrgetter(*names)
        if len(names) == 1:

            def reduce(obj: Any, cls: type = cls, get: Any = get) -> tuple[Any, ...]:
                return rebuild, (cls, (get(obj),))

        else:

            def reduce(obj: Any, cls: type = cls, get: Any = get) -> tuple[Any, ...]:
                return rebuild, (cls, get(obj))

        copyreg.pickle(cls, reduce)
