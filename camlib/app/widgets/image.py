"""The image controls: the sidebar's sample box and upload box, the uploader of a set of images, a sample's button."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import streamlit as st

from camlib.app.inputs import (
    IMAGE_TYPES,
    IMAGE_UPLOAD_LIMIT_MB,
    ImageInput,
    Sample,
    available_samples,
    image_formats_text,
    images_or_samples,
    read_uploaded_image,
    read_uploaded_images,
    sample_by_label,
    sample_input,
    set_note,
    upload_limit_text,
)
from camlib.app.widgets.page import note

# Session-state keys shared by the pages.
SAMPLE_KEY = "camlib_sample"
UPLOADER_KEY = "camlib_uploader"  # with a generation number: see uploader_key()
UPLOADER_GENERATION_KEY = "camlib_uploader_generation"
UPLOAD_STATE_KEY = "camlib_uploaded_image"  # (file name, bytes) of the last upload; survives page switches
SAMPLE_BEFORE_UPLOAD_KEY = "camlib_sample_before_upload"  # the sample chosen before the upload: "Use the sample instead"
SET_STATE_KEY = "camlib_image_set"  # uploader key -> [(file name, bytes)] of a set's last upload; survives page switches


def uploader_key() -> str:
    """The image uploader's current key: it changes after each upload, so the box is always empty and ready."""
    return uploader_key_in(st.session_state)


def uploader_key_in(session_state) -> str:
    """:func:`uploader_key` for a given session state (e.g. an AppTest's)."""
    generation = session_state[UPLOADER_GENERATION_KEY] if UPLOADER_GENERATION_KEY in session_state else 0  # noqa: SIM401 - an AppTest state has no .get
    return f"{UPLOADER_KEY}::{generation}"


def _empty_the_uploader() -> None:
    st.session_state[UPLOADER_GENERATION_KEY] = st.session_state.get(UPLOADER_GENERATION_KEY, 0) + 1


def _take_upload() -> None:
    """Keep the uploaded file in the session and give the box a fresh key.

    The box then holds no file: choosing a sample is never overridden by a file left in it, no refused
    or stale chip stays beside it, and a new upload arrives as one change (never "file removed", then
    the default sample, then the new file).
    """
    uploaded = st.session_state.get(uploader_key())
    if uploaded is not None:
        st.session_state[UPLOAD_STATE_KEY] = (uploaded.name, uploaded.getvalue())
        _empty_the_uploader()


def _forget_upload() -> None:
    st.session_state[UPLOAD_STATE_KEY] = None


def _back_to_the_sample() -> None:
    """The "Use the sample instead" button: forget the upload and show the sample chosen before it again."""
    _forget_upload()
    st.session_state[SAMPLE_KEY] = st.session_state.get(SAMPLE_BEFORE_UPLOAD_KEY)


def _empty_the_sample_box() -> None:
    """While an upload is explained the sample box names no sample (its placeholder names the upload)."""
    if st.session_state.get(SAMPLE_KEY) is not None:
        st.session_state[SAMPLE_BEFORE_UPLOAD_KEY] = st.session_state[SAMPLE_KEY]
        st.session_state[SAMPLE_KEY] = None


def use_sample(label: str) -> None:
    """Make ``label`` the current image (a button callback)."""
    st.session_state[SAMPLE_KEY] = label
    _forget_upload()


def offer_sample(sample: Sample | None, text: str) -> None:
    """A button that makes ``sample`` the current image, when a page offers one (see :func:`camlib.app.inputs.sample_to_offer`)."""
    if sample is not None:
        st.button(text, on_click=use_sample, args=(sample.label,))


def image_uploader(label: str, *, key: str, container=st, **options):
    """A file uploader for images, with the upload limit and its statement."""
    return container.file_uploader(
        label, type=IMAGE_TYPES, key=key, max_upload_size=IMAGE_UPLOAD_LIMIT_MB, help=f"Upload limit: {upload_limit_text()}.", **options
    )


def sidebar_image() -> ImageInput:
    """The current image: the last upload of this session, else the chosen sample.

    An unreadable upload shows its reason with ``st.error`` and stops the script; the sample box and the
    empty uploader above it stay usable, so the user is never stuck on the error.
    """
    sidebar = st.sidebar
    sidebar.header("Image")
    labels = [sample.label for sample in available_samples()]
    stored = st.session_state.get(UPLOAD_STATE_KEY)
    current = st.session_state.get(SAMPLE_KEY)
    if current not in labels and not (stored and current is None):  # a sample no longer here, or an empty box
        st.session_state.pop(SAMPLE_KEY, None)
    if stored:
        _empty_the_sample_box()
    label = sidebar.selectbox("Sample image", labels, index=None if stored else 0, key=SAMPLE_KEY, on_change=_forget_upload,
                              persist_state="session",
                              placeholder=f"Your upload: {stored[0]}" if stored else "Choose a sample")
    image_uploader(
        f"…or upload your own ({image_formats_text()})", key=uploader_key(), container=sidebar, on_change=_take_upload
    )
    sidebar.caption(f"Upload limit: {upload_limit_text()}.")
    if not stored:
        return sample_input(sample_by_label(label or labels[0]))
    name, data = stored
    sidebar.caption(f"Explaining your upload **{name}**.")
    sidebar.button("Use the sample instead", on_click=_back_to_the_sample, key="camlib_use_sample")
    image, error = read_uploaded_image(data, name)
    if error:
        st.error(error)
        st.info("Upload another image, or pick a sample in the sidebar.")
        st.stop()
    for loader_note in image.notes:
        sidebar.info(loader_note)
    return image


PREVIEWED_KEY = "camlib_previewed"
PREVIEW_SIDE = 640  # pixels: the preview's longer side at most (an upload may have 50 megapixels)


_PREVIEW = threading.local()  # the slot of the preview being shown by this script thread, if any


@contextmanager
def first_run_preview(image: ImageInput) -> Iterator[None]:
    """On a session's first run only, the photo with a line saying that the model is on its way, while the
    block runs (imports and the model's load); the slot is emptied when the block ends. Nothing can be drawn
    after ``st.stop()``: inside the block, stop with :func:`stop_page`, which empties the slot first."""
    if st.session_state.get(PREVIEWED_KEY):
        yield
        return
    st.session_state[PREVIEWED_KEY] = True
    thumbnail = image.image.copy()
    thumbnail.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    _PREVIEW.slot = st.empty()
    _PREVIEW.slot.image(thumbnail, caption=f"{image.name}: loading the model…", width=320)
    try:
        yield
    finally:
        clear_preview()


def clear_preview() -> None:
    """Empty the preview's slot, when one is shown."""
    slot, _PREVIEW.slot = getattr(_PREVIEW, "slot", None), None
    if slot is not None:
        slot.empty()


def stop_page() -> NoReturn:
    """``st.stop()``, after emptying the preview's slot (nothing can be drawn once the page is stopping)."""
    clear_preview()
    st.stop()


def image_set(label: str, *, key: str) -> list[ImageInput]:
    """Several uploaded images, each unreadable one reported with ``st.error``; every sample when none is uploaded.

    The files are kept in the session (:data:`SET_STATE_KEY`), so the set survives a visit to another page, whose
    uploader comes back empty; removing them from the box, or the clear button, forgets them."""
    image_uploader(f"{label} ({image_formats_text()})", key=key, accept_multiple_files=True,
                   on_change=_keep_set, args=(key,), kwargs={"emptied_too": True})
    _keep_set(key)
    stored = st.session_state.get(SET_STATE_KEY, {}).get(key, [])
    if stored and not st.session_state.get(key):
        st.caption(f"Your set is kept from before: {', '.join(name for name, _ in stored)}.")
        st.button("Clear the set", key=f"{key}::clear", on_click=_forget_set, args=(key,))
    uploaded, problems = read_uploaded_images(stored)
    for problem in problems:
        st.error(problem)
    note(set_note(uploaded))
    return images_or_samples(uploaded)


def _keep_set(key: str, *, emptied_too: bool = False) -> None:
    """Keep the uploader's files in the session. An empty box forgets them only from its own change callback
    (``emptied_too``: the user removed them), not on a rerun after a page switch, when the box comes back empty."""
    files = st.session_state.get(key) or []
    kept = dict(st.session_state.get(SET_STATE_KEY, {}))
    if [(upload.name, upload.size) for upload in files] == [(name, len(data)) for name, data in kept.get(key, [])]:
        return  # the same files: not copied again on every rerun
    if files or emptied_too:
        kept[key] = [(upload.name, upload.getvalue()) for upload in files]
        st.session_state[SET_STATE_KEY] = kept


def _forget_set(key: str) -> None:
    kept = dict(st.session_state.get(SET_STATE_KEY, {}))
    kept.pop(key, None)
    st.session_state[SET_STATE_KEY] = kept
