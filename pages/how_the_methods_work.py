"""How the methods work: every method by family (formula, cost, what it is known for), why some maps coincide, the
paper's Table 1, and Grad++ScoreCAM, Score-CAM and Grad-CAM step by step on the session's photo."""

import streamlit as st

from camlib import metrics
from camlib.app import class_choice as classes, inputs, method_notes, teaching, widgets
from camlib.app.widgets.walkthrough import walkthrough_section
from camlib.methods import METHODS

widgets.page_setup("How the methods work")
st.markdown(method_notes.INTRO)
st.markdown(method_notes.CONTENTS)
widgets.how_to_read(
    "The methods come in three families, each method with its formula, what one image costs and what it is known "
    "for. Then why some of them give the same map at the last layer, the paper's Table 1 beside camlib's, and at "
    "the bottom the paper's method, Score-CAM and Grad-CAM step by step on the photo chosen in the sidebar."
)

for family, keys in method_notes.family_methods().items():
    st.header(method_notes.FAMILY_TITLES[family], anchor=method_notes.family_anchor(family))
    st.markdown(method_notes.FAMILY_INTROS[family])
    for key in keys:
        info = METHODS[key]
        st.subheader(info.display_name, anchor=f"method-{key}")
        st.markdown(teaching.method_header(info))
        for formula in teaching.method_formulas(key):
            st.latex(formula)
        st.markdown(f"**Known for:** {method_notes.KNOWN_FOR[key]}")

st.header(method_notes.SAME_MAPS_TITLE, anchor=method_notes.SAME_MAPS_ANCHOR)
st.markdown(method_notes.SAME_MAPS)

st.header("Table 1: Average Drop and Average Increase")
for formula in teaching.one_equation_each(teaching.docstring_formulas(metrics)):
    st.latex(formula)
widgets.table_1_columns()
st.markdown(f"Paper: {teaching.PAPER_REFERENCE} [{teaching.PAPER_URL}]({teaching.PAPER_URL})")
st.markdown("Measure them yourself, on your images and backbone, on the **Faithfulness** page.")

st.header("The Grad++ScoreCAM pipeline")
st.caption("The paper's Fig. 1 and Algorithm 1, step by step.")
diagram, steps = st.columns([2, 3])
diagram.graphviz_chart(teaching.PIPELINE_DOT)
steps.markdown(teaching.pipeline_steps())

st.header(method_notes.WALK_TITLE, anchor=method_notes.WALK_ANCHOR)
chosen = widgets.sidebar_image_and_model()
layer = widgets.sidebar_layer(chosen)
resolution = widgets.sidebar_resolution()
top = widgets.predictions_or_stop(chosen, chosen.image, resolution)
target_class = widgets.class_box(
    chosen.class_names, inputs.default_class(classes.sample_for(chosen.image.sample, chosen.class_names), top),
    key=f"camlib_class::{chosen.image.digest}::{chosen.entry}", label=classes.search_label(chosen.class_names),
    container=st.sidebar, help="The default is the class the sample photo shows, else the top-1 prediction.",
)
speed, overrides = widgets.sidebar_speed()
widgets.sidebar_device()
walkthrough_section(chosen, layer, target_class, widgets.MethodSettings(["gradcam", "gradpp_scorecam", "scorecam"],
                                                                         speed, overrides, resolution))
