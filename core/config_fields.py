"""Typed, frozen config sections built from plain YAML mappings.

Every section of an experiment config is a frozen dataclass. ``build_section``
turns a mapping into one, rejecting unknown keys, wrong types and invalid
choices with a ``ConfigError`` that names the offending key and lists the
valid options.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# Numbers in exponent form without a dot (``1e-9``), which YAML 1.1 reads as strings.
_EXPONENT_FLOAT = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+")


class ConfigError(ValueError):
    """A user error in an experiment configuration (unknown key, bad value, missing file)."""


def choice(default: str | None, options: tuple[str, ...]) -> Any:
    """A dataclass field restricted to ``options`` (or ``None``, where the field's type
    allows it: "not set"); checked by ``build_section``."""
    return dataclasses.field(default=default, metadata={"choices": options})


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotated type ``tp`` and convert it where safe."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _coerce(value, non_none[0], where)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build_section(tp, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads ``1e-9`` (no dot) as a string
    if tp in (int, float, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(
                f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}"
            )
        return value
    return value


def build_section(cls: type[T], raw: Any, where: str) -> T:
    """Build the frozen dataclass ``cls`` from the mapping ``raw``.

    Missing keys take the dataclass defaults. ``where`` is the dotted path of
    the section, used in error messages.
    """
    label = where or "top level"
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{label}: expected a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = f"{where}.{name}" if where else name
        converted = _coerce(value, hints[name], key)
        options = fields[name].metadata.get("choices")
        if options is not None and converted is not None and converted not in options:
            raise ConfigError(
                f"{key}: invalid choice {converted!r}; valid options: {', '.join(options)}"
            )
        values[name] = converted
    missing = [
        n
        for n, f in fields.items()
        if n not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{label}: missing required key(s) {', '.join(missing)}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{label}: {err}") from err
