"""The one place where method parameters are checked, for the CLI, the app and the library alike.

A method's parameters are the keyword arguments of its class's ``__init__``, less the ones camlib sets
itself (the model, the layer, the progress callback, CAM's classifier, the layer's ``reshape``). Each value
is checked against the annotation of its argument (``int | None``, ``float``, ``bool``, ``Literal[...]``) and against
:data:`PARAM_BOUNDS`, so that a wrong name, a wrong type, a NaN or an absurd size ends in one
:class:`~camlib.errors.InvalidParameterError` naming the method and the parameter, before any work.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from camlib import cache_limits
from camlib.errors import InvalidParameterError

# validate_method_params(key, ...) and validate_params_for_methods live in camlib.methods.registry, which
# knows the keys; this module sits below the methods and checks a method class's parameters.

SET_BY_CAMLIB = ("model", "target_layer", "progress", "classifier_layer", "reshape")
"""Constructor arguments that camlib fills in itself; they cannot be given as parameters."""

PARAM_BOUNDS: dict[str, tuple[float, float]] = {
    "batch_size": (1, 4096),
    "perturbation_size": (8, 1024),
    "top_k": (1, 65536),
    "sampled_channels": (2, 65536),
    "n_samples": (1, 1000),
    "noise_level": (0.0, 10.0),
    "linear_weight": (0.0, 1.0),
    "noise_std": (0.0, 100.0),
    "groups": (1, 65536),
    "percentile": (0.0, 99.999),
    "seed": (0, 2**63 - 1),
}
"""Inclusive ranges of the numeric parameters, whatever the method. ``perturbation_size`` stops at
1024 pixels: the backbones take 224 × 224 inputs, and a batch of masked inputs at a larger side would
need gigabytes for nothing."""

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@lru_cache(maxsize=cache_limits.METHOD_PARAMETERS)
def method_parameters(method_class: type) -> dict[str, tuple[object, object]]:
    """{name: (annotation, default)} of the parameters a user may set on ``method_class``."""
    # eval_str: the annotations as types; a Score-CAM family constructor's signature is built by
    # MaskedPassCAM.__init_subclass__ from its own keywords and MaskedPassCAM's.
    signature = inspect.signature(method_class.__init__, eval_str=True)
    return {
        name: (object if parameter.annotation is inspect.Parameter.empty else parameter.annotation, parameter.default)
        for name, parameter in signature.parameters.items()
        if name != "self" and name not in SET_BY_CAMLIB and parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def check_params(method_class: type, params: Mapping[str, object] | None, *, key: str | None = None, from_text: bool = False) -> dict[str, object]:
    """:func:`validate_method_params` for a method class; its constructors call this too, so a method
    built directly gets the same checks."""
    key = key or getattr(method_class, "key", "") or method_class.__name__
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"The parameters of {key} must be a mapping of names to values, not a {type(params).__name__}.")
    allowed = method_parameters(method_class)
    checked = {}
    for name, value in params.items():
        if not isinstance(name, str) or name not in allowed:
            raise InvalidParameterError(_unknown_name_message(key, name, allowed))
        annotation, _default = allowed[name]
        value = _from_text(key, name, annotation, value) if from_text else _check_type(key, name, annotation, value)
        checked[name] = _check_bounds(key, name, value)
    return checked


def parse_param_option(item: str) -> tuple[str, str, str]:
    """``"METHOD.NAME=VALUE"`` -> (method, name, value text), as ``--param`` takes it."""
    key, equals, value = item.partition("=")
    method, _, name = key.partition(".")
    if not equals or not method.strip() or not name.strip() or not value.strip():
        raise InvalidParameterError(f"--param takes METHOD.NAME=VALUE, e.g. scorecam.batch_size=32; got '{item}'.")
    return method.strip().lower(), name.strip(), value.strip()


# -- helpers -----------------------------------------------------------------------------------------------


def _unknown_name_message(key: str, name: object, allowed: Mapping) -> str:
    options = ", ".join(allowed) if allowed else "none"
    if name in SET_BY_CAMLIB or name in ("layer", "backbone", "key"):
        hint = " (choose the layer with --layer, or layer=...)" if name in ("target_layer", "layer") else ""
        return f"{key}: '{name}' is set by camlib, not a method parameter{hint}. Parameters of {key}: {options}."
    return f"{key} has no parameter '{name}'. Parameters of {key}: {options}."


def _members(annotation) -> tuple:
    """The alternatives of ``X | Y`` / ``Optional[X]``; a Literal is one member."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _describe(annotation) -> str:
    words = []
    for member in _members(annotation):
        if member is type(None):
            words.append("none")
        elif typing.get_origin(member) is typing.Literal:
            words.append(" or ".join(f"'{value}'" for value in typing.get_args(member)))
        else:
            words.append({int: "an integer", float: "a number", bool: "true or false", str: "a text"}.get(member, str(member)))
    return " or ".join(words)


def _from_text(key: str, name: str, annotation, value: object) -> object:
    if not isinstance(value, str):
        return _check_type(key, name, annotation, value)
    text = value.strip()
    for member in _members(annotation):
        if member is type(None) and text.lower() == "none":
            return None
        if typing.get_origin(member) is typing.Literal and text in typing.get_args(member):
            return text
        if member is bool and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        if member is int and _INTEGER_TEXT.fullmatch(text):
            return int(text)
        if member is float:
            try:
                number = float(text)
            except ValueError:
                continue
            if not math.isfinite(number):
                raise InvalidParameterError(f"{key}.{name} must be a finite number, got '{value}'.")
            return number
        if member is str:
            return text
    raise InvalidParameterError(f"{key}.{name} must be {_describe(annotation)}, got '{value}'.")


def _check_type(key: str, name: str, annotation, value: object) -> object:
    for member in _members(annotation):
        if member is type(None) and value is None:
            return None
        if typing.get_origin(member) is typing.Literal and isinstance(value, str) and value in typing.get_args(member):
            return value
        if member is bool and isinstance(value, bool | np.bool_):
            return bool(value)
        if member is int and isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            return int(value)
        if member is float and isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
            if not math.isfinite(float(value)):
                raise InvalidParameterError(f"{key}.{name} must be a finite number, got {value!r}.")
            return float(value)
        if member is str and isinstance(value, str):
            return value
    raise InvalidParameterError(f"{key}.{name} must be {_describe(annotation)}, got {value!r} ({type(value).__name__}).")


def _check_bounds(key: str, name: str, value: object) -> object:
    if name in PARAM_BOUNDS and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = PARAM_BOUNDS[name]
        if not low <= value <= high:
            raise InvalidParameterError(f"{key}.{name} must be at least {low} and at most {high}, got {value}.")
    return value
