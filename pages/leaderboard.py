"""Leaderboard: every method at the default layer of three models, faithfulness against cost, with intervals."""

import streamlit as st

from camlib.app import leaderboard, widgets

widgets.page_setup("Leaderboard")
st.markdown(
    "Which method should I use? Every method and three maps that know nothing of the model, measured on the "
    "report half of a 250-image ImageNet sample (never used to tune anything), each figure with its 95 % interval. "
    "Methods that no interval separates share a rank."
)
widgets.sidebar_device()
try:
    board = leaderboard.load_leaderboard()
except leaderboard.LeaderboardMissing as missing:
    st.error(str(missing))
    st.stop()
image = leaderboard.pareto_image()
if image is not None:
    st.image(str(image), caption="Insertion − deletion against seconds per map (log), with the Pareto front of the means")
for tab, record in zip(st.tabs([record["title"] for record in board.models]), board.models):
    with tab:
        st.info(record["setting"])
        st.markdown(record["table"])
        st.markdown(record["pareto"])
        st.subheader("Which method for what")
        st.markdown("\n".join(f"- {line}" for line in record["recommendations"]))
        if "prefix" in record:
            with st.expander(record["prefix"]["title"]):
                st.caption(record["prefix"]["note"])
                st.info(record["prefix"]["setting"])
                st.markdown(record["prefix"]["table"])
st.header("Grad++ScoreCAM in its field")
st.markdown(board.field)
st.markdown("\n".join(f"- {line}" for line in board.field_sentences))
st.caption(f"Written by `{board.command}` from the per-image rows; nothing on this page is typed by hand.")
