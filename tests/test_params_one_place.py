"""Method parameters are checked in one place, :func:`camlib.methods.params.check_params`: a method built directly
refuses a bad value with the very message that :func:`~camlib.methods.registry.validate_method_params` gives, and no
method constructor checks its parameters again by hand."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import make_tiny_gap_net

from camlib.errors import InvalidParameterError
from camlib.methods.params import PARAM_BOUNDS, method_parameters
from camlib.methods.registry import METHODS, validate_method_params

METHODS_DIR = Path(__file__).resolve().parents[1] / "camlib" / "methods"
# BaseCAM's constructor checks ``reshape``, which camlib sets itself (not a method parameter).
CHECKS_ITS_OWN_ARGUMENTS = {"base.py"}


def _raises_invalid_parameter(node: ast.AST) -> bool:
    """A ``raise InvalidParameterError(...)`` (CAM's constructor may raise MethodNotApplicableError: a model, not a parameter)."""
    error = node.exc.func if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) else getattr(node, "exc", None)
    return isinstance(node, ast.Raise) and isinstance(error, ast.Name) and error.id == "InvalidParameterError"


def constructors_that_raise(source: str) -> list[str]:
    """The classes of ``source`` whose ``__init__`` or ``__post_init__`` raises InvalidParameterError itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in ("__init__", "__post_init__"):
                    if any(_raises_invalid_parameter(inner) for inner in ast.walk(item)):
                        found.append(node.name)
    return found


def _bad_value(name: str):
    """A value outside the parameter's bounds, or of no type a parameter takes."""
    if name in PARAM_BOUNDS:
        high = PARAM_BOUNDS[name][1]
        return high + 1 if isinstance(high, int) else high * 2 + 1.0
    return object()


CASES = [(key, name) for key, info in METHODS.items() for name in method_parameters(info.method_class)]


def test_the_checker_finds_a_constructor_that_checks_again():
    planted = "class A:\n    def __init__(self, n):\n        if n < 1:\n            raise InvalidParameterError('n')\n        self.n = n\n"
    assert constructors_that_raise(planted) == ["A"]
    assert constructors_that_raise(planted.replace("raise InvalidParameterError('n')", "n = 1")) == []
    assert constructors_that_raise(planted.replace("InvalidParameterError", "MethodNotApplicableError")) == []


@pytest.mark.parametrize("path", sorted(METHODS_DIR.glob("*.py")), ids=lambda path: path.stem)
def test_no_method_constructor_checks_its_parameters_by_hand(path):
    if path.name in CHECKS_ITS_OWN_ARGUMENTS:
        return
    assert constructors_that_raise(path.read_text()) == [], "check parameters with camlib.methods.params.check_params"


@pytest.mark.parametrize(("key", "name"), CASES, ids=[f"{key}-{name}" for key, name in CASES])
def test_a_method_built_directly_refuses_a_bad_value_with_the_one_message(key, name):
    value = _bad_value(name)
    with pytest.raises(InvalidParameterError) as checked:
        validate_method_params(key, {name: value})
    with pytest.raises(InvalidParameterError) as built:
        METHODS[key].method_class(make_tiny_gap_net(), "features", **{name: value})
    assert str(built.value) == str(checked.value)
