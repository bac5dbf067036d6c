"""The Streamlit app: every page under streamlit's AppTest, and the backend it calls.

The tests run with CAMLIB_APP_FAST_TEST=1, which adds the app's "Quick test" settings and makes them the
default: the Score-CAM family's masked passes run at 64×64, so all six methods still run and render, in
seconds. TORCH_HOME points at an empty folder, so no torchvision weights are found and none are
downloaded: only EfficientNet-Lite0 (whose weights ship in a package) loads.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from camlib.app import faithfulness, figures, inputs, instances, maps, models, settings, teaching, widgets
from camlib.explain import MethodResult
from camlib.methods import METHODS, GradPPScoreCAM, speed_params

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = str(REPO_ROOT / "app.py")
PAGES = REPO_ROOT / "pages"
TIMEOUT_S = 180  # a cold run loads the model and runs six methods on a busy 2-core CPU
METHOD_NAMES = [info.display_name for info in METHODS.values()]


@pytest.fixture(autouse=True)
def offline_fast_app(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


def run_app(path: str = APP) -> AppTest:
    return AppTest.from_file(path, default_timeout=TIMEOUT_S).run()


def image_box(at: AppTest):
    """The sidebar's image uploader (its key changes after each upload)."""
    return at.sidebar.get_by_key(widgets.uploader_key_in(at.session_state))


def main_text(at: AppTest) -> str:
    return " ".join(markdown.value for markdown in at.main.markdown)


def page(name: str) -> str:
    return str(PAGES / name)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [item.message for item in at.exception]


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.main.image for caption in image.captions]


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_method_row(row_captions: list[str]) -> None:
    for name in METHOD_NAMES:
        assert any(caption.startswith(f"{name} · ") and caption.endswith(" s") for caption in row_captions), (name, row_captions)


# -- Compare methods (the main page) --------------------------------------------------------------


def test_default_run_renders_the_input_and_all_six_overlays():
    at = run_app()
    assert_clean(at)
    assert not at.error
    shown = captions(at)
    assert shown[0].startswith("Input: ")
    assert_method_row(shown[1:7])
    assert len(at.main.get("plotly_chart")) == 1  # the heatmap of the inspected method
    assert len(at.sidebar.get("plotly_chart")) == 1  # the top-5 chart
    assert len(at.get("download_button")) == 2
    assert "CPU" in " ".join(caption.value for caption in at.sidebar.caption) or torch.cuda.is_available()


def test_choosing_vgg16_without_weights_shows_the_message():
    at = run_app()
    at.sidebar.selectbox(key="camlib_backbone").select("vgg16").run()
    assert_clean(at)
    messages = " ".join(error.value for error in at.error)
    assert "VGG16 weights are not on this machine" in messages
    assert "vgg16-397923af.pth" in messages
    assert at.text_input(key="weights_path::vgg16") is not None
    assert not captions(at)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.png", b"this is text, not an image", "not an image that camlib can read"),
        ("empty.png", b"", "empty"),
        ("truncated.png", png_bytes(np.zeros((64, 64, 3), np.uint8))[:60], "could not be decoded"),
    ],
)
def test_an_invalid_upload_shows_an_error_not_a_traceback(name, data, reason):
    at = run_app()
    image_box(at).set_value((name, data, "image/png")).run()
    assert_clean(at)
    assert any(reason in error.value and name in error.value for error in at.error), [error.value for error in at.error]
    assert not captions(at)


def test_a_valid_upload_is_explained_and_survives_a_rerun():
    at = run_app()
    image_box(at).set_value(
        ("coffee.png", inputs.sample_bytes("skimage:coffee"), "image/png")
    ).run()
    assert_clean(at)
    assert any("coffee.png" in markdown.value for markdown in at.main.markdown)
    assert_method_row(captions(at)[1:7])
    at.sidebar.slider(key="camlib_opacity").set_value(0.8).run()
    assert_clean(at)
    assert any("coffee.png" in markdown.value for markdown in at.main.markdown)


def test_a_method_that_does_not_apply_shows_its_reason_in_its_cell(tmp_path):
    """AlexNet with random weights given as a path: CAM explains why it can't run, the others render."""
    import torchvision

    weights = tmp_path / "alexnet-random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), weights)
    at = run_app()
    at.sidebar.selectbox(key="camlib_backbone").select("alexnet").run()
    assert_clean(at)
    at.text_input(key="weights_path::alexnet").input(str(weights)).run()
    at.button(key="weights_use::alexnet").click().run()
    assert_clean(at)
    assert not at.error, [error.value for error in at.error]
    warnings = " ".join(warning.value for warning in at.main.warning)
    assert "CAM is not applicable to AlexNet" in warnings
    shown = captions(at)
    assert len(shown) == 6 + 1  # the input, five overlays, and the inspected overlay below them
    assert not any(caption.startswith("CAM ·") for caption in shown)


def test_a_second_session_gets_the_first_sessions_maps_from_the_cache():
    noise = png_bytes(np.random.default_rng(7).integers(0, 256, (96, 128, 3), dtype=np.uint8))

    def session() -> AppTest:
        at = run_app()
        image_box(at).set_value(("noise.png", noise, "image/png")).run()
        return at

    first, second = session(), session()
    for at in (first, second):
        assert_clean(at)
        assert_method_row(captions(at)[1:7])
    assert captions(first)[:7] == captions(second)[:7]  # the same times: the second session's maps came from the cache
    assert not models.shared_model("efficientnet_lite0").lock.locked()


def test_two_sessions_at_once_share_the_model_and_get_the_same_maps():
    """Two threads ask the app's backend for every map of one new image at the same moment.

    (Streamlit's AppTest keeps one global runtime, so two AppTests in threads race inside Streamlit
    itself; the backend the sessions share is driven directly here, and `bench/load_app.py` drives real
    concurrent browser sessions.)
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    pixels = np.random.default_rng(11).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    image = inputs.ImageInput("concurrent.png", inputs.digest_of(pixels.tobytes()), Image.fromarray(pixels))
    start = threading.Barrier(2)

    def session() -> dict[str, np.ndarray]:
        start.wait()
        results = {}
        for key in METHODS:
            request = maps.map_request(image, "efficientnet_lite0", None, "conv_head", 281, key, settings.method_params(key, "test"))
            results[key] = maps.compute_map(request, image).saliency
        return results

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(lambda _: session(), range(2))
    for key in METHODS:
        assert first[key] is not None and first[key].shape == (224, 224), key
        np.testing.assert_array_equal(first[key], second[key])
    assert not models.shared_model("efficientnet_lite0").lock.locked()


def test_choosing_a_class_and_a_layer_reruns_the_methods():
    at = run_app()
    at.sidebar.selectbox(key=next(box.key for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))).select(281).run()
    assert_clean(at)
    assert captions(at)[0] == "Input: tabby"
    at.sidebar.selectbox(key="camlib_layer::efficientnet_lite0").select("bn2").run()
    assert_clean(at)
    assert any("`bn2`" in markdown.value for markdown in at.main.markdown)
    assert_method_row(captions(at)[1:7])


# -- what was broken: the uploader against the samples, GIFs, the stale file, the teaching page's formulas ----


def test_choosing_a_sample_after_an_upload_explains_the_sample():
    at = run_app()
    image_box(at).set_value(("coffee.png", inputs.sample_bytes("skimage:coffee"), "image/png")).run()
    assert "coffee.png" in main_text(at)
    at.sidebar.selectbox(key=widgets.SAMPLE_KEY).select("Rocket: rocket (scikit-image)").run()
    assert_clean(at)
    assert "Rocket: rocket" in main_text(at) and "coffee.png" not in main_text(at)
    image_box(at).set_value(("coffee.png", inputs.sample_bytes("skimage:coffee"), "image/png")).run()
    at.sidebar.button(key="camlib_use_sample").click().run()
    assert_clean(at)
    assert "Rocket: rocket" in main_text(at) and "coffee.png" not in main_text(at)


def test_after_a_bad_upload_a_sample_or_a_new_upload_gets_the_user_going_again():
    at = run_app()
    image_box(at).set_value(("notes.png", b"this is text", "image/png")).run()
    assert at.error
    at.sidebar.selectbox(key=widgets.SAMPLE_KEY).select("Coffee cup: coffee (scikit-image)").run()
    assert_clean(at)
    assert not at.error and "Coffee cup" in main_text(at)
    image_box(at).set_value(("notes.png", b"this is text", "image/png")).run()
    assert at.error
    image_box(at).set_value(("rocket.png", inputs.sample_bytes("skimage:rocket"), "image/png")).run()
    assert not at.error and "rocket.png" in main_text(at)


def test_the_upload_box_takes_gifs_and_is_empty_after_each_upload():
    """A GIF is accepted (its first frame, with a note); the box then holds no file, so no stale or refused
    file stays in it, and replacing the image is one change: never "file removed" then the default sample."""
    from image_samples import two_frames

    at = run_app()
    assert "gif" in [kind.lstrip(".") for kind in image_box(at).allowed_type]
    image_box(at).set_value(("animated.gif", two_frames("GIF"), "image/gif")).run()
    assert_clean(at)
    assert "animated.gif" in main_text(at)
    assert any("first" in info.value for info in at.sidebar.info)
    assert image_box(at).value is None  # the box is ready for the next file
    image_box(at).set_value(("coffee.png", inputs.sample_bytes("skimage:coffee"), "image/png")).run()
    assert "coffee.png" in main_text(at) and "animated.gif" not in main_text(at)


def test_how_the_methods_work_shows_no_raw_directive_and_every_formula_whole():
    at = run_app(page("how_the_methods_work.py"))
    assert_clean(at)
    assert ".. math::" not in " ".join(markdown.value for markdown in at.markdown)
    formulas = [latex.value.strip("$\n") for latex in at.get("latex")]
    assert not any("\\qquad" in formula for formula in formulas), formulas  # one equation per line: none cut off
    assert any(formula.startswith("L^c") and formula.endswith("\\alpha_k A_k\\Big)") for formula in formulas)


# -- the other pages ------------------------------------------------------------------------------


def test_compare_backbones_page_renders_the_offline_backbone_and_explains_the_others():
    at = run_app(page("compare_backbones.py"))
    assert_clean(at)
    shown = captions(at)
    assert shown[0] == "Input"
    assert_method_row(shown[1:7])
    messages = " ".join(error.value for error in at.error)
    for name in ("ResNet50", "VGG16", "AlexNet"):
        assert f"{name} weights are not on this machine" in messages
        assert any(expander.label == f"Add weights for {name}" for expander in at.expander)


def test_multiple_objects_page_shows_each_class_and_a_note_on_instances():
    at = run_app(page("multiple_objects.py"))
    assert_clean(at)
    shown = captions(at)
    inputs = [caption for caption in shown if not any(caption.startswith(f"{name} · ") for name in METHOD_NAMES)]
    assert len(inputs) == 3  # two classes, then the several-instances photo
    assert len(shown) == 3 * 7
    assert any("Separate regions at or above half" in info.value for info in at.info)


def test_faithfulness_page_shows_table_1_for_the_current_image_and_the_set():
    at = run_app(page("faithfulness.py"))
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table.columns) == METHOD_NAMES
    assert list(table.index) == [faithfulness.AVERAGE_DROP, faithfulness.AVERAGE_INCREASE, faithfulness.SECONDS]
    assert table.loc[faithfulness.AVERAGE_DROP].between(0, 100).all()
    assert at.main.get("plotly_chart")
    at.file_uploader(key="camlib_set_uploads").set_value(
        [("coffee.png", inputs.sample_bytes("skimage:coffee"), "image/png"),
         ("rocket.png", inputs.sample_bytes("skimage:rocket"), "image/png")]
    ).run()
    assert any("2 image(s): coffee.png, rocket.png" in markdown.value for markdown in at.main.markdown)
    at.button(key="camlib_evaluate_set").click().run()
    assert_clean(at)
    assert len(at.dataframe) == 4  # table and per-image rows, for the image and for the set


def test_faithfulness_page_reports_an_unreadable_image_in_the_set():
    at = run_app(page("faithfulness.py"))
    at.file_uploader(key="camlib_set_uploads").set_value(
        [("good.png", inputs.sample_bytes("skimage:coffee"), "image/png"), ("bad.png", b"GIF89a broken", "image/png")]
    ).run()
    assert_clean(at)
    assert any("bad.png" in error.value for error in at.error)
    assert any("1 image(s): good.png" in markdown.value for markdown in at.main.markdown)


def test_how_the_methods_work_page_shows_formulas_pipeline_and_costs():
    at = run_app(page("how_the_methods_work.py"))
    assert_clean(at)
    assert len(at.get("latex")) >= len(METHODS) + 1
    assert len(at.get("graphviz_chart")) == 1
    text = " ".join(markdown.value for markdown in at.markdown)
    assert "masked_input_scores" in text and "gradcampp_weights" in text
    for info in METHODS.values():
        assert info.cost in text
    assert "10.1109/ACCESS.2024.3392853" in text


def test_every_page_is_linked_from_the_sidebar():
    linked = {path for path, _, _ in widgets.NAVIGATION}
    assert linked == {"app.py"} | {f"pages/{path.name}" for path in PAGES.glob("*.py")}
    at = run_app()
    links = [link.label for link in at.sidebar.get("page_link")]
    assert links == [label for _, label, _ in widgets.NAVIGATION]


# -- the camlib.app package ----------------------------------------------------------------------


def test_read_uploaded_image_returns_the_image_or_the_reason():
    image, error = inputs.read_uploaded_image(inputs.sample_bytes("skimage:chelsea"), "chelsea.png")
    assert error is None and image.image.size == (451, 300) and len(image.digest) == 64
    image, error = inputs.read_uploaded_image(b"%PDF-1.4 not an image", "paper.png")
    assert image is None and "paper.png" in error


def test_samples_work_without_the_shared_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(inputs, "SHARED_IMAGES", tmp_path / "absent")
    samples = inputs.available_samples()
    assert samples and all(sample.source.startswith("skimage:") for sample in samples)
    assert inputs.sample_input(samples[0]).image.mode == "RGB"


def test_the_default_setting_is_fast_with_exact_and_lowres_one_click_away(monkeypatch):
    monkeypatch.delenv(settings.FAST_TEST_ENV, raising=False)
    assert settings.speed_options() == ["fast", "exact", "lowres"]
    assert dict(settings.method_params("scorecam", "fast"))["sampled_channels"] == 128
    assert settings.method_params("scorecam", "exact") == ()  # exact is the published method
    assert "correlate" in settings.SPEED_PRESETS["fast"].description  # the label says how close it is
    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    assert settings.speed_options()[0] == "test"


def test_method_params_merge_preset_and_overrides_into_a_hashable_key():
    assert settings.method_params("scorecam", "exact") == ()
    assert settings.method_params("gradcam", "fast") == ()
    for key in ("scorecam", "gradpp_scorecam"):  # the app's Fast and Low-res are camlib's named settings
        assert dict(settings.method_params(key, "fast")) == speed_params(key, "fast")
        assert dict(settings.method_params(key, "lowres")) == speed_params(key, "lowres")
    fast_probability = dict(settings.method_params("scorecam", "fast", {"scorecam": {"score": "probability"}}))
    assert fast_probability == {**speed_params("scorecam", "fast"), "score": "probability"}
    assert settings.effective_param("gradpp_scorecam", "top_k", "exact") == GradPPScoreCAM.__init__.__kwdefaults__["top_k"]
    hash(settings.method_params("gradpp_scorecam", "test"))


def test_maps_are_cached_by_request_and_progress_is_reported():
    image = inputs.sample_input(inputs.available_samples()[0])
    request = maps.map_request(image, "efficientnet_lite0", None, "conv_head", 281, "scorecam", settings.method_params("scorecam", "test"))
    calls = []
    first = maps.compute_map(request, image, progress=lambda done, total: calls.append((done, total)))
    assert first.error is None and first.saliency.shape == (224, 224)
    second = maps.compute_map(request, image)
    assert second.seconds == first.seconds and np.array_equal(second.saliency, first.saliency)
    other = maps.compute_map(maps.map_request(image, "efficientnet_lite0", None, "conv_head", 285, "gradcam", ()), image)
    assert not np.array_equal(other.saliency, first.saliency)
    model = models.shared_model("efficientnet_lite0")
    assert model is models.shared_model("efficientnet_lite0") and not model.lock.locked()


def test_cam_request_always_uses_the_pooling_layer():
    image = inputs.sample_input(inputs.available_samples()[0])
    request = maps.map_request(image, "efficientnet_lite0", None, "blocks.5", 281, "cam", ())
    assert request.layer == "bn2"


def test_exports_round_trip():
    display = np.full((224, 224, 3), 128, np.uint8)
    saliency = np.linspace(0, 1, 224 * 224, dtype=np.float32).reshape(224, 224)
    results = {
        "gradcam": MethodResult("gradcam", "Grad-CAM", saliency, 0.1),
        "cam": MethodResult("cam", "CAM", None, 0.0, "CAM is not applicable"),
    }
    explanation = figures.explanation_of(display, 281, [f"class {i}" for i in range(1000)], [], "conv_head", results)
    maps = np.load(io.BytesIO(figures.maps_npz(explanation, backbone_key="efficientnet_lite0")), allow_pickle=False)
    assert np.array_equal(maps["gradcam"], saliency) and "cam" not in maps
    assert int(maps["target_class"]) == 281 and str(maps["backbone"]) == "efficientnet_lite0"
    grid = Image.open(io.BytesIO(figures.grid_png(explanation, opacity=0.5, colormap="jet")))
    assert grid.size[0] > 3 * 224


def test_hot_regions_counts_separate_blobs():
    saliency = np.zeros((100, 100), np.float32)
    saliency[10:30, 10:30] = 1.0
    saliency[60:90, 50:80] = 0.8
    saliency[0, 99] = 1.0  # a speck below the area threshold
    assert instances.hot_regions(saliency) == 2
    results = {"gradcam": MethodResult("gradcam", "Grad-CAM", saliency, 0.1)}
    assert "Grad-CAM separates all of them" in instances.instances_note(results, 2)
    assert "None separates all 3" in instances.instances_note(results, 3)


def test_table_1_uses_camlib_metrics():
    rows = [
        faithfulness.FaithfulnessRow("a", "gradcam", 1, 0.5, 0.25, 1.0),  # drop 50 %
        faithfulness.FaithfulnessRow("b", "gradcam", 1, 0.4, 0.6, 3.0),  # drop 0 %, an increase
        faithfulness.FaithfulnessRow("a", "cam", 1, None, None, 0.0, "not applicable"),
    ]
    table = faithfulness.table_1(rows, ["cam", "gradcam"])
    assert table.loc[faithfulness.AVERAGE_DROP, "Grad-CAM"] == pytest.approx(25.0)
    assert table.loc[faithfulness.AVERAGE_INCREASE, "Grad-CAM"] == pytest.approx(50.0)
    assert table.loc[faithfulness.SECONDS, "Grad-CAM"] == pytest.approx(2.0)
    assert np.isnan(table.loc[faithfulness.AVERAGE_DROP, "CAM"])


def test_teaching_content_comes_from_the_docstrings():
    for key in METHODS:
        assert teaching.method_formulas(key), key
    assert any("softmax" in formula for formula in teaching.method_formulas("scorecam"))
    steps = teaching.algorithm_steps()
    assert "1. **Forward and backward pass**" in steps and ":math:" not in steps and "$" in steps
    assert teaching.rst_to_markdown(":func:`gradcampp_weights` and ``top_k``") == "`gradcampp_weights` and `top_k`"


def test_an_animated_upload_says_that_only_its_first_frame_is_used():
    from image_samples import two_frames

    image = inputs.image_from_bytes(two_frames("GIF"), "animated.gif")
    assert image.image.mode == "RGB"
    assert any("first" in note for note in image.notes), image.notes
