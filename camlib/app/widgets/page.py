"""The frame of every page: its config and title, the sidebar's page links, the device line, "How to read this", notes."""

from __future__ import annotations

import streamlit as st

# The pages, in the sidebar's order. Streamlit's own page list is hidden (client.showSidebarNavigation),
# so that the main page is called "Compare methods" rather than after its file.
NAVIGATION = (
    ("app.py", "Compare methods", ":material/local_fire_department:"),
    ("pages/compare_backbones.py", "Compare backbones", ":material/view_module:"),
    ("pages/multiple_objects.py", "Multiple objects", ":material/pets:"),
    ("pages/faithfulness.py", "Faithfulness", ":material/trending_down:"),
    ("pages/how_the_methods_work.py", "How the methods work", ":material/school:"),
    ("pages/leaderboard.py", "Leaderboard", ":material/leaderboard:"),
)


def page_setup(title: str) -> None:
    """The page's config, title and the sidebar's page links."""
    icon = next((icon for _, label, icon in NAVIGATION if label == title), None)
    st.set_page_config(page_title=f"{title} · camlib", page_icon=icon, layout="wide")
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        for path, label, page_icon in NAVIGATION:
            st.sidebar.page_link(path, label=label, icon=page_icon)
    except StreamlitPageNotFoundError:
        pass  # a page run on its own (AppTest.from_file on one page) has no other pages to link to
    st.title(title)


def sidebar_device() -> None:
    from camlib.app.models import device_label  # imports torch: not before the page's title is drawn

    st.sidebar.divider()
    st.sidebar.caption(f"Device: **{device_label()}**")


def methods_or_stop(methods: list[str]) -> None:
    """With no method chosen, one line saying where to choose them, and the page stops (never an empty page)."""
    if not methods:
        from camlib.app.captions import NO_METHODS

        st.warning(NO_METHODS)
        st.stop()


def note(text: str | None, container=st) -> None:
    """A caption, when there is something to say (``text`` from one of camlib.app's ``*_note`` functions)."""
    if text:
        container.caption(text)


def how_to_read(text: str) -> None:
    """The page's short "how to read this", folded away."""
    with st.expander("How to read this", icon=":material/help:"):
        st.markdown(text)
