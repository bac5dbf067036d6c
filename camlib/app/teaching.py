"""The teaching page's content: each method's formulas and the Grad++ScoreCAM pipeline, from the methods' docstrings."""

from __future__ import annotations

import csv
import inspect
import re
from pathlib import Path

import pandas as pd

from camlib.app.faithfulness import AVERAGE_DROP, AVERAGE_INCREASE
from camlib.evaluate import summarize
from camlib.methods import METHODS, method_info
from camlib.resources import resource_path
from camlib.results import read_rows


def docstring_formulas(obj) -> list[str]:
    """The LaTeX of each ``.. math::`` block in an object's docstring, in order."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    formulas, index = [], 0
    while index < len(lines):
        line = lines[index]
        if ".. math::" in line:
            inline = line.split(".. math::", 1)[1].strip()
            index += 1
            if inline:
                formulas.append(inline)
                continue
            block = []
            while index < len(lines) and lines[index].strip():
                block.append(lines[index].strip())
                index += 1
            formulas.append(" ".join(block))
        index += 1
    return formulas


# Formulas for methods whose docstring gives them only inline, step by step.
SUMMARY_FORMULAS = {
    "gradpp_scorecam": [
        r"w_k^c = \sum_{i,j} a_k(i, j)\, \mathrm{ReLU}\Big(\frac{\partial y^c}{\partial A_k(i, j)}\Big) \quad \text{(the Grad-CAM++ weights)}",
        r"C_k = f^c(X \circ H_k) - f^c(X_b) \quad \text{for the top-}k \text{ channels by } w_k^c",
        r"\alpha_k = \mathrm{softmax}_k(C_k) \cdot \frac{w_k^c}{\max_j w_j^c}, \qquad L^c = \mathrm{ReLU}\Big(\sum_k \alpha_k A_k\Big)",
    ],
}


# Equations on one docstring line are separated by a comma and a \\quad or \\qquad.
_EQUATION_BREAK = re.compile(r",\s*\\q?quad\s*")


def one_equation_each(formulas: list[str]) -> list[str]:
    """Split formulas that chain several equations, so that each one fits a narrow column (none is cut off)."""
    return [part.strip() for formula in formulas for part in _EQUATION_BREAK.split(formula) if part.strip()]


def method_formulas(method_key: str) -> list[str]:
    return one_equation_each(docstring_formulas(method_info(method_key).method_class) or SUMMARY_FORMULAS.get(method_key, []))


PIPELINE_DOT = r"""
digraph pipeline {
  rankdir=TB; bgcolor="transparent"; ranksep=0.25; nodesep=0.3;
  node [shape=box, style="rounded,filled", fillcolor="#fff4e6", color="#d9480f", fontname="Helvetica", fontsize=11];
  edge [color="#868e96"];
  X [label="Input image X", fillcolor="#e7f5ff", color="#1c7ed6"];
  F [label="1. One forward and one backward pass"];
  A [label="Channels A_k of the layer"];
  G [label="Gradients of the class score"];
  W [label="2. Grad-CAM++ weight w_k per channel"];
  T [label="3. Keep the channels\nwith the largest w_k"];
  H [label="4. Each channel as a mask H_k on the photo;\nscore C_k = f(X o H_k) - f(blank)"];
  C [label="5. alpha_k = softmax(C)_k x w_k / max w"];
  L [label="6. Map: ReLU(sum_k alpha_k A_k)", fillcolor="#ebfbee", color="#2f9e44"];
  X -> F; F -> A; F -> G; A -> W; G -> W; W -> T; T -> H; A -> H; X -> H; H -> C; W -> C; C -> L; A -> L;
}
"""

PIPELINE_STEPS = """1. **Forward and backward pass** (the paper's eqs. 12–13): the photo goes through the network, and the gradient \
of the class score comes back to the chosen layer.
2. **Grad-CAM++ weights** $w_k$ (eq. 14): one weight per channel from the gradient, as Grad-CAM++ computes it.
3. **Channel selection**: the paper scores every channel; camlib keeps the channels with the largest $w_k$ \
({top_k} by default, a parameter of the method) and gives the others no weight.
4. **Masks and scores** (eq. 15): each kept channel, enlarged to the photo and scaled to [0, 1], masks the photo; \
its score $C_k$ is how much the masked photo raises the class score above a blank image's.
5. **Combination** (eq. 16): the paper combines $C_k$ and $w_k$ without fixing how; camlib's default is \
$\\alpha_k = \\mathrm{softmax}_k(C_k) \\cdot w_k / \\max_j w_j$ (others are one setting away).
6. **Map**: $L^c = \\mathrm{ReLU}(\\sum_k \\alpha_k A_k)$, enlarged to the photo and scaled to [0, 1].
"""


def pipeline_steps() -> str:
    """Algorithm 1's steps in plain words, with the method's default number of channels scored."""
    top_k = inspect.signature(method_info("gradpp_scorecam").method_class).parameters["top_k"].default
    return PIPELINE_STEPS.replace("{top_k}", str(top_k))

PAPER_REFERENCE = (
    "S. Soomro, A. Niaz and K. N. Choi, “Grad++ScoreCAM: Enhancing Visual Explanations of Deep Convolutional "
    "Networks Using Incremented Gradient and Score-Weighted Methods,” IEEE Access, vol. 12, 2024, "
    "doi: 10.1109/ACCESS.2024.3392853."
)
PAPER_URL = "https://doi.org/10.1109/ACCESS.2024.3392853"

PAPER_DIR = resource_path("paper")  # package data (camlib/resources.py)
RESULTS_DIR = resource_path("results")  # package data: copies of docs/results/
CAMLIB_TABLE_1_FILES = ("report_lite0_bn2.csv",)  # docs/results.md: the report half at the default layer
PAPER_SETTING = (
    "VGG16 pretrained on ImageNet, 1,000 random ILSVRC2012 validation images resized to 224 × 224, metrics as "
    "in the Grad-CAM++ paper; the paper does not name the layer, the target-class rule, or whether the scores "
    "are logits or softmax probabilities."
)
CAMLIB_SETTING = (
    "EfficientNet-Lite0 at bn2 (the default layer), the report half of a 250-image ImageNet sample, one image per class (odd "
    "name-sorted indices; defaults were chosen on the other half), the top-1 class, softmax scores on the "
    "normalised input masked by the map, inputs with the shorter side at 224 and the aspect ratio kept; "
    "computed with `camlib evaluate --half report` (docs/results.md). Different backbone, images and layer: "
    "compare the ranking, not the numbers."
)


def _table(values: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Methods as columns (in camlib's order), Average Drop and Average Increase as rows."""
    ordered = [key for key in METHODS if key in values]
    return pd.DataFrame(
        {method_info(key).display_name: list(values[key]) for key in ordered}, index=[AVERAGE_DROP, AVERAGE_INCREASE]
    )


def paper_table_1(folder: Path = PAPER_DIR) -> pd.DataFrame | None:
    """The paper's Table 1 from ``camlib/data/paper/table1.csv`` (copied from the paper), or ``None`` when absent."""
    path = folder / "table1.csv"
    if not path.is_file():
        return None
    rows = {row["metric"]: row for row in csv.DictReader(path.open(newline=""))}
    drop, increase = rows["average_drop_percent"], rows["average_increase_percent"]
    return _table({key: (float(drop[key]), float(increase[key])) for key in METHODS if key in drop})


def camlib_table_1(folder: Path = RESULTS_DIR) -> pd.DataFrame | None:
    """camlib's own Table 1, from the per-image rows in docs/results (see docs/results.md), or ``None``."""
    paths = [folder / name for name in CAMLIB_TABLE_1_FILES if (folder / name).is_file()]
    if not paths:
        return None
    summaries = summarize(read_rows(paths))
    return _table({summary.method: (summary.average_drop, summary.average_increase) for summary in summaries})


def method_header(info) -> str:
    """A method's paper, with its link, and its cost per image (``info``: its :class:`camlib.methods.MethodInfo`)."""
    return f"[{info.paper}]({info.paper_url})  \n**Cost per image:** {info.cost} (relative cost {info.relative_cost} of 5)."
