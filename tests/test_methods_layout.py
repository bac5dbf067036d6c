"""camlib.methods keeps its layers: each module imports only the camlib modules below it.

The table is the README's "Architecture" section for camlib/methods. A method module may use the shared
machinery but never another method, the registry, or anything of camlib outside ``camlib.errors``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

METHODS_DIR = Path(__file__).resolve().parents[1] / "camlib" / "methods"
SHARED = {
    "errors", "base", "map_ops", "gradpp_weights", "batch_sizing", "surrogate", "masked_passes", "sampled_scores", "params",
    "position_weights", "feature_passes", "repeated_passes", "tokens", "score_steps",
}  # fmt: skip
PAPER_MODULES = {"cam", "gradcam", "gradcampp", "smoothgradcampp", "scorecam", "gradpp_scorecam"}
ADDED_MODULES = {"hirescam", "xgradcam", "layercam", "eigencam", "ablationcam", "reciprocam", "groupcam", "sscam", "iscam"}
METHOD_MODULES = PAPER_MODULES | ADDED_MODULES
ALLOWED: dict[str, set[str]] = {
    "map_ops": set(),
    "gradpp_weights": set(),
    "batch_sizing": set(),
    "score_steps": set(),  # what the score-weighted methods compute on the way to their weights
    "params": {"errors"},  # the one check of method parameters, by the constructor's signature
    "tokens": {"errors"},
    "layers": {"errors", "tokens"},
    "capture": {"errors", "layers", "tokens"},
    "base": {"errors", "map_ops", "capture", "layers", "tokens"},
    "surrogate": {"map_ops"},
    "masked_passes": {"errors", "base", "batch_sizing", "capture", "map_ops", "params", "tokens"},
    "sampled_scores": {"map_ops", "masked_passes", "surrogate"},
    "position_weights": {"base"},  # combinations for maps that are not one weight per channel
    "feature_passes": {"errors", "base", "masked_passes"},  # passes that replace the target layer's output
    "repeated_passes": {"masked_passes", "sampled_scores"},  # masked passes repeated with changed masks
    **{name: SHARED for name in METHOD_MODULES},
    "registry": {"errors", "base", "params", *METHOD_MODULES},
    "score": {"batch_sizing", "masked_passes", "surrogate", "sampled_scores", "scorecam", "gradpp_scorecam"},  # re-exports only
    "__init__": {"base", "map_ops", "gradpp_weights", "masked_passes", "registry", "tokens", "layers", *METHOD_MODULES},
}


def camlib_imports(path: Path) -> set[str]:
    """The camlib modules a file imports, by their last name (``camlib.methods.base`` -> ``base``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            if module.startswith("camlib."):
                assert module.startswith(("camlib.methods.", "camlib.errors")), f"{path.name} imports {module}"
                names.add(module.rsplit(".", 1)[1])
    return names


@pytest.mark.parametrize("path", sorted(METHODS_DIR.glob("*.py")), ids=lambda path: path.stem)
def test_module_imports_only_the_layers_below_it(path):
    assert path.stem in ALLOWED, f"new module {path.name}: add it to ALLOWED and to the README's Architecture section"
    assert camlib_imports(path) <= ALLOWED[path.stem]
