"""Direct construction of frozen, slotted dataclasses, for hot paths (the SIP parser, the
SMPP session).

A frozen dataclass's generated ``__init__`` takes keyword arguments and sets every field
through ``object.__setattr__``; for the message the parser builds (its typed header values
are tuples, see decision 0007) that costs several times what the parse of the text does. The
parser instead allocates the object and sets each slot through its member descriptor: same
object, same field values, no keyword handling.

:func:`slot_setters` refuses a class whose fields it is not given in full, or one with a
``__post_init__`` it would skip. A caller may leave a slot unset only where the class fills
it on first use (the message's ``headers``, through ``__getattr__``).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type, *names: str, skip_post_init: bool = False) -> tuple[Setter, ...]:
    """The slot setters of dataclass ``cls`` for ``names``, which must be all of its fields.

    ``skip_post_init`` allows a class with a ``__post_init__``, for a caller that copies
    objects which already passed it (the storage records crossing to the SQLite worker).

    Raises:
        TypeError: ``names`` are not exactly the fields of ``cls``, a field is not a slot,
            or ``cls`` has a ``__post_init__`` (these setters would skip it).
    """
    fields = {f.name for f in dataclasses.fields(cls)}
    if set(names) != fields or len(names) != len(fields):
        raise TypeError(f"{cls.__name__}: setters for {sorted(names)}, fields {sorted(fields)}")
    if hasattr(cls, "__post_init__") and not skip_post_init:
        raise TypeError(f"{cls.__name__} has a __post_init__")
    setters: list[Setter] = []
    for name in names:
        owner = next((klass for klass in cls.__mro__ if name in klass.__dict__), object)
        descriptor = owner.__dict__.get(name)
        if not isinstance(descriptor, types.MemberDescriptorType):
            raise TypeError(f"{cls.__name__}.{name} is not a slot")
        setters.append(descriptor.__set__)
    return tuple(setters)


def replacer(cls: type[T], name: str) -> Callable[[T, Any], T]:
    """A function of ``(obj, value)`` equal to ``dataclasses.replace(obj, **{name: value})``
    for an ``obj`` of exactly ``cls``: the other fields copied slot to slot, without the
    keyword machinery and the frozen ``__init__`` (about three times faster).

    Like the dataclass's own ``__init__``, the function is generated (straight-line code,
    one statement per field; the names are the class's field names).

    Raises:
        TypeError: as :func:`slot_setters`, or ``name`` is not a field of ``cls``.
    """
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    if name not in names:
        raise TypeError(f"{cls.__name__} has no field {name!r}")
    setters = slot_setters(cls, *names)
    scope: dict[str, Any] = {"cls": cls, "new": object.__new__, "fallback": dataclasses.replace}
    lines = [
        "def replace(obj, value):",
        "    if type(obj) is not cls:",
        f"        return fallback(obj, {name}=value)",
        "    copy = new(cls)",
    ]
    for index, (field, setter) in enumerate(zip(names, setters, strict=True)):
        scope[f"set{index}"] = setter
        source = "value" if field == name else f"obj.{field}"
        lines.append(f"    set{index}(copy, {source})")
    lines.append("    return copy")
    exec("\n".join(lines), scope)  # identifiers from dataclasses.fields only
    function: Callable[[T, Any], T] = scope["replace"]
    return function


def builder(cls: type[T], *, skip_post_init: bool = False) -> Callable[..., T]:
    """A function of every field's value, positionally in field order, that makes the
    object of ``cls`` as its ``__init__`` would with those values (no defaults):
    generated straight-line code, one slot set per field. ``skip_post_init``: as
    :func:`slot_setters` (the ``__post_init__`` is then not run).

    Raises:
        TypeError: as :func:`slot_setters`.
    """
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    setters = slot_setters(cls, *names, skip_post_init=skip_post_init)
    scope: dict[str, Any] = {"cls": cls, "new": object.__new__}
    arguments = ", ".join(f"v{index}" for index in range(len(names)))
    lines = [f"def build({arguments}):", "    obj = new(cls)"]
    for index, setter in enumerate(setters):
        scope[f"set{index}"] = setter
        lines.append(f"    set{index}(obj, v{index})")
    lines.append("    return obj")
    exec("\n".join(lines), scope)  # generated from a count only
    function: Callable[..., T] = scope["build"]
    return function
