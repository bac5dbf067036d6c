"""How the methods work: formulas, costs, the Grad++ScoreCAM pipeline and the paper's Table 1."""

import streamlit as st

from camlib import metrics
from camlib.app import teaching, widgets
from camlib.methods import METHODS

widgets.page_setup("How the methods work")
st.markdown(
    "Every method weights the channels $A_k$ of one convolutional layer and sums them: "
    "$L^c = \\mathrm{ReLU}(\\sum_k \\alpha_k^c A_k)$, upsampled to the image and scaled to [0, 1]. "
    "They differ in how they get the weights $\\alpha_k^c$, and in what that costs."
)
widgets.how_to_read(
    "Each method turns one layer's channels $A_k$ into a map with weights $\\alpha_k^c$; the formulas show how "
    "each gets its weights, and the cost line what that takes per image. Table 1 at the bottom measures how "
    "faithful each method's maps are (Average Drop: lower is better; Average Increase: higher is better)."
)
widgets.sidebar_device()

for info in METHODS.values():
    st.subheader(info.display_name)
    st.markdown(teaching.method_header(info))
    for formula in teaching.method_formulas(info.key):
        st.latex(formula)

st.header("The Grad++ScoreCAM pipeline")
st.caption("The paper's Fig. 1 and Algorithm 1, step by step, with the camlib code that does each step.")
diagram, steps = st.columns([2, 3])
diagram.graphviz_chart(teaching.PIPELINE_DOT)
steps.markdown(teaching.algorithm_steps())

st.header("Table 1: Average Drop and Average Increase")
for formula in teaching.one_equation_each(teaching.docstring_formulas(metrics)):
    st.latex(formula)
widgets.table_1_columns()
st.markdown(f"Paper: {teaching.PAPER_REFERENCE} [{teaching.PAPER_URL}]({teaching.PAPER_URL})")
st.markdown("Measure them yourself, on your images and backbone, on the **Faithfulness** page.")
