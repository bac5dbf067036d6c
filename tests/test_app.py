"""The Streamlit app: every page under streamlit's AppTest, and the backend it calls.

The tests run with CAMLIB_APP_FAST_TEST=1, which adds the app's "Quick test" settings and makes them the
default: the Score-CAM family's masked passes run at 64×64, so all six methods still run and render, in
seconds. TORCH_HOME points at an empty folder, so no torchvision weights are found and none are
downloaded: only EfficientNet-Lite0 (whose weights ship in a package) loads.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from camlib.app import faithfulness, inputs, instances, models, settings, teaching, uploads, widgets
from camlib.app import map_requests as maps, plots_and_downloads as figures
from camlib.explain import MethodResult
from camlib.methods import METHODS, PAPER_METHODS, GradPPScoreCAM, speed_params

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = str(REPO_ROOT / "app.py")
PAGES = REPO_ROOT / "pages"
TIMEOUT_S = 180  # a cold run loads the model and runs six methods on a busy 2-core CPU
METHOD_NAMES = [METHODS[key].display_name for key in PAPER_METHODS]  # the app's default methods
LITE0 = models.ModelChoice("efficientnet_lite0")


@pytest.fixture(autouse=True)
def offline_fast_app(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


def run_app(path: str = APP) -> AppTest:
    return AppTest.from_file(path, default_timeout=TIMEOUT_S).run()


def image_box(at: AppTest):
    """The sidebar's image uploader (its key changes after each upload)."""
    return at.sidebar.get_by_key(widgets.uploader_key_in(at.session_state))


def has_key(at: AppTest, key: str) -> bool:
    try:
        at.get_by_key(key)
    except KeyError:
        return False
    return True


def main_text(at: AppTest) -> str:
    return " ".join(markdown.value for markdown in at.main.markdown)


def page(name: str) -> str:
    return str(PAGES / name)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [item.message for item in at.exception]


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.main.image for caption in image.captions if caption]  # not the colour bar


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def a_map_and_a_refusal(width: int, seconds: float) -> tuple[np.ndarray, np.ndarray, dict[str, MethodResult]]:
    """A grey input ``width`` wide (224 high), a ramp as Grad-CAM's map, and CAM refusing to run."""
    display = np.full((224, width, 3), 128, np.uint8)
    saliency = np.linspace(0, 1, 224 * width, dtype=np.float32).reshape(224, width)
    return display, saliency, {
        "gradcam": MethodResult("gradcam", "Grad-CAM", saliency, seconds),
        "cam": MethodResult("cam", "CAM", None, 0.0, "CAM is not applicable"),
    }


def assert_method_row(row_captions: list[str]) -> None:
    for name in METHOD_NAMES:
        assert any(caption.startswith(f"{name} · ") and caption.endswith(" s") for caption in row_captions), (name, row_captions)


# -- Compare methods (the main page) --------------------------------------------------------------


def test_default_run_renders_the_input_and_all_six_overlays():
    at = run_app()
    assert_clean(at)
    assert not at.error
    shown = captions(at)
    assert shown[0] == "Input"  # the class explained is in the header, not under the input
    assert_method_row(shown[1:7])
    assert len(at.main.get("plotly_chart")) == 1  # the heatmap of the inspected method
    assert len(at.sidebar.get("plotly_chart")) == 1  # the top-5 chart
    assert len(at.get("download_button")) == 3  # the figure as PNG and SVG, and the raw maps
    assert "CPU" in " ".join(caption.value for caption in at.sidebar.caption) or torch.cuda.is_available()


def test_choosing_vgg16_without_weights_shows_one_line_and_how_to_add_them():
    at = run_app()
    at.sidebar.selectbox(key="camlib_backbone").select("vgg16").run()
    assert_clean(at)
    assert not at.error  # an offline backbone is a state, not an error
    assert any("VGG16** has no weights on this server" in markdown.value for markdown in at.main.markdown)
    expander = next(expander for expander in at.expander if expander.label == "How to add weights for VGG16")
    text = " ".join(item.value for item in expander.caption)
    assert "vgg16-397923af.pth" in text and "--weights" not in text
    assert has_key(at, "weights_upload::vgg16")
    assert not has_key(at, "weights_path::vgg16")  # the server-path box is off unless the operator turns it on
    assert not captions(at)


def test_the_server_path_box_appears_only_when_the_operator_enables_it(monkeypatch):
    monkeypatch.setenv(widgets.SERVER_WEIGHTS_ENV, "1")
    at = run_app()
    at.sidebar.selectbox(key="camlib_backbone").select("vgg16").run()
    assert has_key(at, "weights_path::vgg16")


@pytest.mark.slow  # loads and explains with an uploaded state dict: 28 s on the shared machine
def test_an_uploaded_weights_file_keeps_the_users_name_in_messages():
    at = run_app()
    at.sidebar.selectbox(key="camlib_backbone").select("vgg16").run()
    at.get_by_key("weights_upload::vgg16").set_value(("my vgg weights.pth", b"not a state dict", "application/octet-stream")).run()
    at.button(key="weights_load::vgg16").click().run()
    assert_clean(at)
    messages = " ".join(warning.value for warning in at.warning)
    assert "my_vgg_weights.pth" in messages, messages
    assert uploads.save_uploaded_weights("vgg16", b"x", "../../etc/passwd").name == "passwd"


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


@pytest.mark.slow  # over 2 s on the idle 2-core machine
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


@pytest.mark.slow  # VGG16 page run: 12-22 s on the shared machine
def test_a_method_that_does_not_apply_shows_its_reason_in_its_cell(tmp_path, monkeypatch):
    """AlexNet with random weights given as a path: CAM explains why it can't run, the others render."""
    import torchvision

    weights = tmp_path / "alexnet-random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), weights)
    monkeypatch.setenv(widgets.SERVER_WEIGHTS_ENV, "1")
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
    # the input and five overlays; the difference view's input and difference; the inspected overlay below them
    assert len(shown) == 6 + 2 + 1
    assert shown[:6] == ["Input"] + [caption for caption in shown[1:6] if " · " in caption]
    assert not any(caption.startswith("CAM ·") for caption in shown)


@pytest.mark.slow  # over 2 s on the idle 2-core machine
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


@pytest.mark.slow  # two full page runs: 14-24 s on the shared machine
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
        for key in PAPER_METHODS:
            request = maps.map_request(image, LITE0, "conv_head", 281, key, settings.method_params(key, "test"))
            results[key] = maps.compute_map(request, image).saliency
        return results

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(lambda _: session(), range(2))
    for key in PAPER_METHODS:
        assert first[key] is not None and first[key].shape == (224, 336), key  # 120 × 80 keeps its shape
        np.testing.assert_array_equal(first[key], second[key])


@pytest.mark.slow  # over 2 s on the idle 2-core machine
def test_choosing_a_class_and_a_layer_reruns_the_methods():
    at = run_app()
    at.sidebar.selectbox(key=next(box.key for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))).select(281).run()
    assert_clean(at)
    assert captions(at)[0] == "Input" and "tabby" in main_text(at)
    at.sidebar.selectbox(key="camlib_layer::efficientnet_lite0").select("bn2").run()
    assert_clean(at)
    assert any("`bn2`" in markdown.value for markdown in at.main.markdown)
    assert_method_row(captions(at)[1:7])


# -- what was broken: the uploader against the samples, GIFs, the stale file, the teaching page's formulas ----


@pytest.mark.slow  # over 2 s on the idle 2-core machine
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


@pytest.mark.slow  # over 2 s on the 2-core runner
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


@pytest.mark.slow  # over 2 s on the idle 2-core machine
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


# -- the image's shape, reading aids, figures, state across pages, one visitor never blocking another ----


def test_the_resolution_control_gives_maps_in_the_images_proportions():
    at = run_app()
    assert at.sidebar.radio(key="camlib_resolution").value == 224
    at.sidebar.radio(key="camlib_resolution").set_value(320).run()
    assert_clean(at)
    assert "320 px" in main_text(at)
    assert_method_row(captions(at)[1:7])
    image = inputs.sample_input(inputs.available_samples()[0])  # chelsea, 451 × 300
    request = maps.map_request(image, LITE0, "conv_head", 281, "gradcam", (), 320)
    assert maps.compute_map(request, image).saliency.shape == (320, 481)


def test_every_grid_has_a_colour_bar_the_scale_line_and_how_to_read_it():
    at = run_app()
    assert any(expander.label == "How to read this" for expander in at.expander)
    assert any(caption.value == figures.OWN_SCALE_NOTE for caption in at.main.caption)
    strip = figures.colorbar_strip("jet")
    assert strip.shape[1] == 256 and tuple(strip[0, 0]) != tuple(strip[0, -1])  # 0 and 1 in different colours


def test_the_common_scale_divides_by_the_largest_raw_value_of_the_method():
    saliency = np.array([[0.0, 0.5, 1.0]], np.float32)
    strong = MethodResult("gradcam", "Grad-CAM", saliency, 0.1, raw_range=(0.0, 4.0))
    weak = MethodResult("gradcam", "Grad-CAM", saliency, 0.1, raw_range=(0.0, 1.0))
    maxima = figures.common_maxima([{"gradcam": strong}, {"gradcam": weak}])
    assert maxima == {"gradcam": 4.0}
    np.testing.assert_allclose(figures.on_common_scale(weak, maxima["gradcam"]).saliency, [[0.0, 0.125, 0.25]])
    np.testing.assert_allclose(figures.on_common_scale(strong, maxima["gradcam"]).saliency, saliency)


def test_the_raw_range_is_the_maps_range_before_normalisation(effnet, chelsea_image):
    """The recorded (min, max) turns the normalised map back into the method's own values (Grad-CAM by hand)."""
    from camlib.explain import run_method

    inputs_ = effnet.preprocess(chelsea_image)
    result = run_method("gradcam", effnet, inputs_, 281, layer="conv_head")
    activations = {}
    layer = dict(effnet.model.named_modules())["conv_head"]
    handle = layer.register_forward_hook(lambda module, args, output: activations.setdefault("a", output))
    try:
        with torch.enable_grad():
            logits = effnet.model(inputs_.clone().requires_grad_(True))
            (grad,) = torch.autograd.grad(logits[0, 281], activations["a"])
    finally:
        handle.remove()
    weights = grad.mean(dim=(2, 3))
    raw = torch.relu((weights[:, :, None, None] * activations["a"]).sum(1, keepdim=True))
    raw = torch.nn.functional.interpolate(raw, size=inputs_.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    low, high = result.raw_range
    assert high == pytest.approx(float(raw.max()), rel=1e-3) and low == pytest.approx(float(raw.min()), abs=1e-4 * high)


def test_the_exported_figure_has_the_labels_a_colour_bar_and_high_resolution():
    from camlib.publication_figures import figure_bytes

    display, _, results = a_map_and_a_refusal(337, 0.123)
    rows = [figures.figure_row("tabby (281): 62.1%", display, results), figures.figure_row("tiger cat (282): 20.0%", display, results)]
    title = "EfficientNet-Lite0 · layer conv_head · Fast · input 337×224 px"
    png = Image.open(io.BytesIO(figure_bytes(rows, title=title, file_format="png")))
    assert png.width >= 1500 and png.height > png.width / 4
    svg = figure_bytes(rows, title=title, file_format="svg").decode()
    for label in ("tabby (281): 62.1%", "tiger cat (282): 20.0%", "EfficientNet-Lite0", "conv_head", "Fast", "Grad-CAM", "CAM",
                  "Input", "map value", "scaled to its own"):
        assert label in svg, label
    assert "0.12" not in svg  # no machine-dependent seconds
    assert "1.0" in svg and "0.0" in svg  # the colour bar's ticks


def _speed_sidebar_only():
    from camlib.app import widgets

    widgets.sidebar_speed()


def test_the_parameter_boxes_show_their_values_in_words_at_every_setting():
    at = AppTest.from_function(_speed_sidebar_only, default_timeout=TIMEOUT_S).run()
    for speed in ("fast", "exact", "test"):
        at.sidebar.radio(key="camlib_speed").set_value(speed).run()
        assert_clean(at)
        boxes = {box.key: box for box in at.sidebar.selectbox}
        assert all(box.value is not None for box in boxes.values()), speed  # none shows "Choose an option"
        combination = boxes[f"camlib_param::{speed}::gradpp_scorecam::combination"]
        assert combination.value == "softmax_w" and "softmax(C_k) × w_k / max w (default)" in combination.options
    assert boxes["camlib_param::test::scorecam::perturbation_size"].value == 64
    at.sidebar.radio(key="camlib_speed").set_value("exact").run()
    assert at.sidebar.selectbox(key="camlib_param::exact::scorecam::perturbation_size").value == 0  # the input's own size


@pytest.mark.slow  # over 2 s on the idle 2-core machine
def test_layer_class_and_parameters_survive_a_visit_to_another_page():
    at = run_app()
    class_key = next(box.key for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))
    at.sidebar.selectbox(key=class_key).select(285).run()
    at.sidebar.selectbox(key="camlib_layer::efficientnet_lite0").select("bn2").run()
    at.slider(key="camlib_param::test::smoothgradcampp::n_samples").set_value(3).run()
    assert "SmoothGrad-CAM++ noisy samples = 3" in main_text(at)
    at.switch_page("pages/how_the_methods_work.py").run()
    assert_clean(at)
    at.switch_page("app.py").run()
    assert_clean(at)
    assert at.sidebar.selectbox(key=class_key).value == 285
    assert at.sidebar.selectbox(key="camlib_layer::efficientnet_lite0").value == "bn2"
    assert at.slider(key="camlib_param::test::smoothgradcampp::n_samples").value == 3
    assert "Egyptian cat (285)" in main_text(at) and "noisy samples = 3" in main_text(at)


@pytest.mark.slow  # over 2 s on the idle 2-core machine
def test_a_class_outside_the_top_5_shows_its_probability():
    at = run_app()
    class_key = next(box.key for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))
    at.sidebar.selectbox(key=class_key).select(1).run()  # goldfish, in a photo of a cat
    assert_clean(at)
    assert any("goldfish** is not in the top 5" in caption.value and "%" in caption.value for caption in at.sidebar.caption)
    assert "goldfish (1): " in main_text(at)


def test_the_first_screen_explains_the_models_top_1_when_the_sample_knows_that_class():
    """chelsea: the model's top-1 (Egyptian cat at 224 px, shape kept) is one of the sample's classes, so the
    first screen explains it, not a less likely class picked in advance."""
    at = run_app()
    assert_clean(at)
    box = next(box for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))
    assert box.value == 285
    assert "Egyptian cat (285)" in main_text(at)
    assert inputs.default_class(inputs.SAMPLES[0], [(999, "x", 0.9)]) == inputs.SAMPLES[0].classes[0]
    assert inputs.default_class(None, [(7, "x", 0.9)]) == 7


@pytest.mark.slow  # a page run on a 448 px photo: 20 s on the shared machine
def test_the_two_horses_sample_opens_on_its_horse_class():
    at = run_app()
    at.sidebar.selectbox(key=widgets.SAMPLE_KEY).select("Two horses (pytorch-grad-cam)").run()
    assert_clean(at)
    assert "sorrel (339)" in main_text(at)


@pytest.mark.slow  # waits on another session's Score-CAM: 16 s on the shared machine
def test_cheap_maps_and_top_5_are_not_held_up_by_another_sessions_score_cam():
    """One thread's Score-CAM is paused inside its masked passes (its progress callback waits); another thread's
    Grad-CAM and top-5 on the same shared model must still finish. With a lock held for the whole map, they wait
    for the Score-CAM and this test fails."""
    import threading

    image = inputs.sample_input(inputs.available_samples()[1])
    slow = maps.map_request(image, LITE0, "conv_head", 967, "scorecam", (("perturbation_size", 64),), 224)
    paused, release = threading.Event(), threading.Event()

    def hold(done: int, total: int) -> None:
        paused.set()
        release.wait(timeout=600)

    score_cam = threading.Thread(target=maps._cached_result, args=(slow, image.image, hold), daemon=True)
    score_cam.start()
    try:
        assert paused.wait(timeout=300), "Score-CAM never started its masked passes"
        outcome = {}

        def cheap() -> None:
            request = maps.map_request(image, LITE0, "conv_head", 968, "gradcam", (), 224)
            outcome["map"] = maps.compute_map(request, image).saliency
            outcome["top"] = models.top_predictions(image.digest + "-free", LITE0, image.image, 224)

        other = threading.Thread(target=cheap, daemon=True)
        other.start()
        other.join(timeout=300)  # a liveness bound, not a timing claim: blocked, it would wait for the release
        assert not other.is_alive(), "the cheap map waited for the other session's Score-CAM"
        assert outcome["map"] is not None and len(outcome["top"]) == 5
        assert score_cam.is_alive()  # the Score-CAM was still paused all along
    finally:
        release.set()
        score_cam.join(timeout=300)


# -- the other pages ------------------------------------------------------------------------------


@pytest.mark.slow  # three backbones: 14-29 s on the shared machine
def test_compare_backbones_page_renders_the_offline_backbone_and_explains_the_others():
    at = run_app(page("compare_backbones.py"))
    assert_clean(at)
    shown = captions(at)
    assert shown[0] == "Input"
    assert_method_row(shown[1:7])
    assert not at.error
    lines = " ".join(markdown.value for markdown in at.main.markdown)
    for name in ("ResNet50", "VGG16", "AlexNet"):
        assert f"{name}** has no weights on this server" in lines
        assert any(expander.label == f"How to add weights for {name}" for expander in at.expander)


@pytest.mark.slow  # two classes at 448 px: 12-29 s on the shared machine
def test_multiple_objects_page_shows_each_class_and_a_note_on_instances():
    at = run_app(page("multiple_objects.py"))
    assert_clean(at)
    shown = captions(at)
    inputs = [caption for caption in shown if not any(caption.startswith(f"{name} · ") for name in METHOD_NAMES)]
    assert len(inputs) == 3  # two classes, then the several-instances photo
    assert len(shown) == 3 * 7
    assert any("Hot spots (separate peaks" in info.value for info in at.info)
    assert at.sidebar.radio(key="camlib_resolution_multi").value == 448
    # The evaluation suite's grid pointing game for the methods shown, next to the centre blob's chance level.
    pointing = at.dataframe[-1].value
    assert "Grad-CAM" in pointing.index and "Centre blob (no model)" in pointing.index
    assert pointing.loc["Centre blob (no model)", "energy share in the right cell"] == pytest.approx(0.25)
    assert pointing.loc["Grad-CAM", "energy share in the right cell"] > 0.25


@pytest.mark.slow  # every metric for nine maps on three images: 42 s on the shared machine
def test_faithfulness_page_shows_every_metric_with_the_baselines_for_the_current_image_and_the_set():
    at = run_app(page("faithfulness.py"))
    assert_clean(at)
    table = at.dataframe[0].value
    baseline_names = [faithfulness.display_name(key) for key in faithfulness.BASELINES]
    assert list(table.columns) == METHOD_NAMES + baseline_names
    assert list(table.index) == [metric.label for metric in faithfulness.METRICS] + [faithfulness.SECONDS]
    assert table.loc[faithfulness.AVERAGE_DROP].between(0, 100).all()
    assert table.loc["Complexity ↓", "Uniform (no model)"] == pytest.approx(1.0)
    assert table.loc["Coherency ↑", "Centre blob (no model)"] == pytest.approx(1.0)
    assert table.loc["ADCC ↑", "Uniform (no model)"] == 0.0
    chart = at.main.get("plotly_chart")[0]
    bars = json.loads(chart.proto.spec)["data"][0]
    assert bars["marker"]["pattern"]["shape"] == [""] * len(METHOD_NAMES) + ["/"] * 3  # baselines hatched
    guide = " ".join(markdown.value for markdown in at.markdown)
    assert all(metric.guide in guide for metric in faithfulness.METRICS)
    assert faithfulness.paper_table_1().values is not None  # package data: always here
    at.file_uploader(key="camlib_set_uploads").set_value(
        [("coffee.png", inputs.sample_bytes("skimage:coffee"), "image/png"),
         ("rocket.png", inputs.sample_bytes("skimage:rocket"), "image/png")]
    ).run()
    assert any("2 image(s): coffee.png, rocket.png" in markdown.value for markdown in at.main.markdown)
    at.button(key="camlib_evaluate_set").click().run()
    assert_clean(at)
    # table, its intervals, per-image rows and the paper's Table 1 (package data), for the image and the set
    assert len(at.dataframe) == 8
    intervals = [frame.value for frame in at.dataframe if frame.value.shape[0] == len(faithfulness.METRICS)]
    assert len(intervals) == 2 and all(cell == "—" or cell.startswith("[") for cell in intervals[1].to_numpy().ravel())
    comparison = next(frame.value for frame in at.dataframe if "paper: Average Drop (%) ↓" in frame.value.columns)
    assert comparison.loc["Grad++ScoreCAM", "paper: Average Drop (%) ↓"] == pytest.approx(32.6)
    assert any("VGG16" in caption.value for caption in at.caption)


@pytest.mark.slow  # every metric for nine maps: 17-23 s on the shared machine
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
    assert "Grad-CAM++ weights" in text and "masked_input_scores" not in text and "gradcampp_weights" not in text
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


def test_every_sample_is_here_and_the_page_works_without_the_photos(monkeypatch, tmp_path):
    assert inputs.available_samples() == list(inputs.SAMPLES)  # the photos are package data
    monkeypatch.setattr(inputs, "PHOTOS_DIR", tmp_path / "absent")  # a damaged install
    samples = inputs.available_samples()
    assert samples and all(sample.source.startswith("skimage:") for sample in samples)
    assert inputs.sample_input(samples[0]).image.mode == "RGB"


def test_the_default_setting_is_fast_with_exact_one_click_away(monkeypatch):
    monkeypatch.delenv(settings.FAST_TEST_ENV, raising=False)
    assert settings.speed_options() == ["fast", "exact"]  # Low-res was no faster than Fast and less faithful
    assert dict(settings.method_params("scorecam", "fast"))["sampled_channels"] == 128
    assert settings.method_params("scorecam", "exact") == ()  # exact is the published method
    # The label says how close fast comes to exact, from the measured report-half rows (camlib.measured).
    from camlib.measured import fast_setting_text

    assert fast_setting_text() and fast_setting_text() in settings.SPEED_PRESETS["fast"].description
    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    assert settings.speed_options()[0] == "test"


def test_the_speed_labels_come_from_the_one_table_of_measured_seconds(monkeypatch):
    from camlib import timings

    for speed in ("fast", "exact"):
        assert timings.seconds_text(timings.setting_seconds(speed)) in settings.SPEED_PRESETS[speed].description
    assert timings.setting_seconds("exact") > timings.setting_seconds("fast")
    assert timings.map_size(448) == (448, 673)  # chelsea: the shorter side at 448, the aspect ratio kept
    monkeypatch.setitem(timings.SECONDS_BY_SETTING, "fast", {"scorecam": 99.0})
    assert "Score-CAM 99 s" in settings.timing_text("fast")


def test_method_params_merge_preset_and_overrides_into_a_hashable_key():
    assert settings.method_params("scorecam", "exact") == ()
    assert settings.method_params("gradcam", "fast") == ()
    for key in ("scorecam", "gradpp_scorecam"):  # the app's Fast is camlib's named setting
        assert dict(settings.method_params(key, "fast")) == speed_params(key, "fast")
    fast_probability = dict(settings.method_params("scorecam", "fast", {"scorecam": {"score": "probability"}}))
    assert fast_probability == {**speed_params("scorecam", "fast"), "score": "probability"}
    assert settings.effective_param("gradpp_scorecam", "top_k", "exact") == GradPPScoreCAM.__init__.__kwdefaults__["top_k"]
    hash(settings.method_params("gradpp_scorecam", "test"))


def test_maps_are_cached_by_request_and_progress_is_reported():
    image = inputs.sample_input(inputs.available_samples()[0])
    request = maps.map_request(image, LITE0, "conv_head", 281, "scorecam", settings.method_params("scorecam", "test"))
    calls = []
    first = maps.compute_map(request, image, progress=lambda done, total: calls.append((done, total)))
    assert first.error is None and first.saliency.shape == (224, 337)  # chelsea, 451 × 300
    second = maps.compute_map(request, image)
    assert second.seconds == first.seconds and np.array_equal(second.saliency, first.saliency)
    other = maps.compute_map(maps.map_request(image, LITE0, "conv_head", 285, "gradcam", ()), image)
    assert not np.array_equal(other.saliency, first.saliency)
    assert models.shared_model(LITE0) is models.shared_model(models.ModelChoice("efficientnet_lite0"))


def test_cam_request_always_uses_the_pooling_layer():
    image = inputs.sample_input(inputs.available_samples()[0])
    request = maps.map_request(image, LITE0, "blocks.5", 281, "cam", ())
    assert request.layer == "bn2"


def test_exports_round_trip():
    display, saliency, results = a_map_and_a_refusal(224, 0.1)
    explanation = figures.explanation_of(display, 281, [f"class {i}" for i in range(1000)], [], "conv_head", results)
    maps = np.load(io.BytesIO(figures.maps_npz(explanation, backbone_key="efficientnet_lite0")), allow_pickle=False)
    assert np.array_equal(maps["gradcam"], saliency) and "cam" not in maps
    assert int(maps["target_class"]) == 281 and str(maps["backbone"]) == "efficientnet_lite0"
    grid = Image.open(io.BytesIO(figures.grid_png(explanation, opacity=0.5, colormap="jet")))
    assert grid.size[0] > 3 * 224


def test_hot_spots_are_separate_peaks_at_least_a_cell_apart():
    saliency = np.zeros((100, 100), np.float32)
    saliency[20, 20] = 1.0
    saliency[20, 70] = 0.8  # 50 px away: a second hot spot
    saliency[25, 30] = 0.9  # 10 px from the first: inside its cell, not a spot of its own
    saliency[80, 80] = 0.3  # below half the maximum
    assert sorted(instances.hot_spots(saliency, cell=32)) == [(20, 20), (20, 70)]
    assert instances.hot_spots(np.zeros((10, 10), np.float32)) == []
    results = {"gradcam": MethodResult("gradcam", "Grad-CAM", saliency, 0.1)}
    note = instances.instances_note(results, resolution=448, stride=32, instances=6)
    assert "Grad-CAM: 2" in note and "6 (counted by eye)" in note and "every instance its share" not in note


# Counted by eye on camlib's sample photos (original pixels): each animal's extent, left to right.
# dogs.png (347 × 342): six dogs sitting side by side; columns of x (their bodies touch).
SIX_DOGS_X = [(30, 82), (82, 136), (136, 182), (182, 227), (227, 268), (268, 322)]
# puppies.jpg (1600 × 1200): five puppies; boxes (x0, y0, x1, y1); the second lies in front of the third.
FIVE_PUPPIES = [(0, 510, 420, 870), (400, 600, 660, 820), (600, 430, 900, 800), (900, 560, 1240, 820), (1200, 510, 1600, 890)]


def _spots_in_photo(effnet, path, target_class, resolution, key="gradcam"):
    from camlib.explain import run_method

    photo = Image.open(path).convert("RGB")
    saliency = run_method(key, effnet, effnet.preprocess(photo, resolution), target_class).saliency
    scale = photo.width / saliency.shape[1]
    return [(column * scale, row * scale) for row, column in instances.hot_spots(saliency)]


def test_at_448_grad_cam_hot_spots_lie_on_dogs_but_do_not_count_them(effnet, photos_dir):
    """At the default layer (bn2) and 448 px, every Grad-CAM hot spot lies on a dog and no dog holds two,
    yet there are fewer spots than the six dogs a person counts: a peak count is not an instance count."""
    spots = _spots_in_photo(effnet, photos_dir / "dogs.png", 231, 448)  # collie
    dogs_hit = [sum(x0 <= x < x1 for x, _ in spots) for x0, x1 in SIX_DOGS_X]
    assert sum(dogs_hit) == len(spots) and max(dogs_hit) == 1, spots
    assert 2 <= len(spots) < 6, spots
    # At 224 the feature map is 7 cells across: the spots cannot separate the dogs.
    assert len(_spots_in_photo(effnet, photos_dir / "dogs.png", 231, 224)) < 6


def test_at_448_grad_cam_hot_spots_cover_all_five_puppies_but_are_not_a_count_of_them(effnet, photos_dir):
    """Every puppy holds a hot spot, but two of them hold two: a peak count is not an instance count,
    which is why the page reports hot spots and never says a method "separates all instances"."""
    spots = _spots_in_photo(effnet, photos_dir / "puppies.jpg", 208, 448)  # Labrador retriever

    def owner(x, y):
        inside = [index for index, (x0, y0, x1, y1) in enumerate(FIVE_PUPPIES) if x0 <= x < x1 and y0 <= y < y1]
        return min(inside, key=lambda i: abs((FIVE_PUPPIES[i][0] + FIVE_PUPPIES[i][2]) / 2 - x)) if inside else None

    owners = [owner(x, y) for x, y in spots]
    assert None not in owners, spots  # no spot on the grass or the stone
    assert set(owners) == set(range(5)), spots
    assert len(spots) > 5


def faithfulness_row(name, key, base, masked, seconds, error="", **extra):
    row = {"file": name, "target": "1", "method": key, "kind": "baseline" if key in faithfulness.BASELINES else "method",
           "base_score": base, "masked_score": masked, "insertion_auc": "0.5", "deletion_auc": "0.2", "seconds": seconds, "error": error}
    return {**row, **extra}


def test_table_1_uses_camlib_metrics():
    rows = [
        faithfulness_row("a", "gradcam", "0.5", "0.25", "1.0", masked_score_25="0.5"),  # drop 50 %; top 25 %: none
        faithfulness_row("b", "gradcam", "0.4", "0.6", "3.0", masked_score_25="0.1"),  # drop 0 %, an increase; top 25 %: 75 %
        faithfulness_row("a", "cam", "", "", "", "not applicable"),
        faithfulness_row("a", "center", "0.5", "0.5", "0.0", masked_score_25="0.45", insertion_auc="0.6"),
        faithfulness_row("b", "center", "0.4", "0.4", "0.0", masked_score_25="0.36", insertion_auc="0.6"),
    ]
    table = faithfulness.table_1(rows, ["cam", "gradcam", "center"])
    assert table.loc[faithfulness.AVERAGE_DROP, "Grad-CAM"] == pytest.approx(25.0)
    assert table.loc[faithfulness.AVERAGE_INCREASE, "Grad-CAM"] == pytest.approx(50.0)
    assert table.loc["Average Drop, top 25 % kept (%) ↓", "Grad-CAM"] == pytest.approx(37.5)
    assert table.loc["Insertion − deletion ↑", "Grad-CAM"] == pytest.approx(0.3)
    assert table.loc[faithfulness.SECONDS, "Grad-CAM"] == pytest.approx(2.0)
    assert np.isnan(table.loc[faithfulness.AVERAGE_DROP, "CAM"]) and np.isnan(table.loc["Complexity ↓", "Grad-CAM"])
    # the centre blob: insertion − deletion 0.4 > 0.3 on both images (below it); drop at 25 % area 10 % on both
    # against Grad-CAM's 0 % and 75 % (paired differences −10 and +65: indistinguishable)
    assert faithfulness.not_beating_center(rows) == {
        "Grad-CAM": ["Insertion − deletion ↑ (below it)", "Average Drop, top 25 % kept (%) ↓ (indistinguishable)"]
    }
    # the intervals beside the means: Grad-CAM's Average Drop is 50 % on one image and 0 % on the other, so a
    # resample of the two gives 0, 25 or 50 (hand-computed); insertion − deletion is 0.3 on both
    intervals = faithfulness.intervals_table(rows, ["cam", "gradcam", "center"])
    assert intervals.loc[faithfulness.AVERAGE_DROP, "Grad-CAM"] == "[0, 50]"
    assert intervals.loc["Insertion − deletion ↑", "Grad-CAM"] == "[0.3, 0.3]"
    assert intervals.loc[faithfulness.AVERAGE_DROP, "CAM"] == "—"
    figure = faithfulness.metric_figure(table, "Insertion − deletion ↑", ["gradcam", "center"])
    assert figure.data[0].marker.color == (faithfulness.METHOD_COLOR, faithfulness.BASELINE_COLOR)
    assert figure.layout.shapes[0].line.dash == "dash" and figure.layout.shapes[0].y0 == pytest.approx(0.4)


def test_the_papers_table_1_or_a_note_that_it_is_absent(tmp_path):
    absent = faithfulness.paper_table_1(tmp_path)
    assert absent.values is None and "not on this machine" in absent.reference
    (tmp_path / "table1.csv").write_text("metric,gradcam,cam\naverage_drop_percent,47.8,47.2\naverage_increase_percent,19.6,13.0\n")
    (tmp_path / "README.md").write_text("# T\n\n- Reference: A. Author, \"A paper\",\n  Journal, 2024.\n- Setting: VGG16\n")
    paper = faithfulness.paper_table_1(tmp_path)
    assert paper.reference == 'A. Author, "A paper", Journal, 2024.'
    rows = [faithfulness_row("a", "gradcam", "0.5", "0.25", "1.0")]
    comparison = faithfulness.paper_comparison(rows, paper)
    assert comparison.loc["Grad-CAM", "paper: Average Drop (%) ↓"] == 47.8
    assert comparison.loc["Grad-CAM", "camlib: Average Drop (%) ↓"] == pytest.approx(50.0)
    assert np.isnan(comparison.loc["CAM", "camlib: Average Drop (%) ↓"])


def test_teaching_content_comes_from_the_docstrings():
    for key in METHODS:
        assert teaching.method_formulas(key), key
    assert any("softmax" in formula for formula in teaching.method_formulas("scorecam"))
    steps = teaching.pipeline_steps()
    assert "1. **Forward and backward pass**" in steps and ":math:" not in steps and "$" in steps
    assert "(32 by default" in steps  # GradPPScoreCAM's own default, read from its signature


def test_an_animated_upload_says_that_only_its_first_frame_is_used():
    from image_samples import two_frames

    image = inputs.image_from_bytes(two_frames("GIF"), "animated.gif")
    assert image.image.mode == "RGB"
    assert any("first" in note for note in image.notes), image.notes


# -- what the pages decide: plain functions of camlib.app, no Streamlit ----------------------------------

TOP = [(285, "Egyptian cat", 0.361), (281, "tabby", 0.148), (282, "tiger cat", 0.1), (287, "lynx", 0.05), (478, "carton", 0.01)]
NAMES = [f"class {index}" for index in range(1000)]


def test_the_classes_a_page_explains_first():
    from camlib.app import class_choice as classes

    chelsea, horses, dogs = inputs.SAMPLES[0], inputs.SAMPLES[5], inputs.SAMPLES[4]
    assert classes.suggested_classes(chelsea, TOP) == [281, 285]  # the sample's two known classes
    assert classes.suggested_classes(dogs, TOP) == [285, 281]  # one known class: the model's top 2
    assert classes.suggested_classes(None, TOP) == [285, 281]
    assert classes.top_classes(TOP, 3) == [285, 281, 282]
    assert classes.first_known_class(horses, TOP) == 339 and classes.first_known_class(None, TOP) == 285
    assert classes.target_or_top_1(TOP, None) == 285 and classes.target_or_top_1(TOP, 0) == 0
    assert classes.enough_classes([1, 2]) and not classes.enough_classes([1])
    assert classes.class_option(NAMES, 7) == "class 7 (7)"
    assert classes.class_choice_option(NAMES, None) == "Each backbone's top-1"
    assert classes.class_choice_option(NAMES, 7) == "class 7 (7)"


def test_the_notes_on_the_models_confidence():
    from camlib.app import class_choice as classes

    assert classes.outside_top_5_note(NAMES, TOP, 281, 0.148) is None
    assert classes.outside_top_5_note(NAMES, TOP, 1, 0.00012) == "**class 1** is not in the top 5: the model gives it 0.01%."
    assert classes.unsure_note(TOP) is None
    assert classes.unsure_note([(1, "goldfish", 0.19)]) == (
        "The model is unsure about this image (its top-1 has only 19%). Small objects fill little of the "
        "input: a higher resolution may help, and a class chosen by hand can still be explained."
    )


def test_the_headers_titles_and_file_names_say_what_was_chosen():
    from camlib.app import captions

    fast = settings.MethodSettings(["gradcam"], "fast", {}, 448)
    assert captions.backbone_label("vgg16") == "VGG16"
    assert captions.explaining_line("tabby (281): 14.8%", "chelsea", "vgg16", "features.29", fast) == (
        "Explaining **tabby (281): 14.8%** in *chelsea* with **VGG16** at layer `features.29` · 448 px · settings: **Fast**"
    )
    assert captions.input_title("vgg16", "features.29", fast, 673, 448, "chelsea") == (
        "VGG16 · layer features.29 · Fast · input 673×448 px · chelsea"
    )
    assert captions.setting_line("vgg16", "features.29", fast) == "VGG16 · layer features.29 · Fast · shorter side 448 px"
    assert captions.backbones_title("chelsea", fast) == "chelsea · each backbone at its default layer · Fast · shorter side 448 px"
    assert captions.backbone_row_label("vgg16", "features.29", "tabby (281)") == "VGG16 · features.29\ntabby (281)"
    assert captions.top_1_line(TOP, "tabby (281)", "bn2") == "Top-1: **Egyptian cat** (36%) · explaining **tabby (281)** · layer `bn2`"
    assert captions.file_stem("resnet50", "Egyptian cat") == "resnet50_Egyptian_cat"


def test_the_method_settings_name_their_changes_and_key_their_boxes(monkeypatch):
    changed = {"smoothgradcampp": {"n_samples": 3}, "scorecam": {"perturbation_size": None, "score": "probability"}}
    assert settings.MethodSettings(["gradcam"], "fast", changed).label() == (
        "Fast, changed: SmoothGrad-CAM++ noisy samples = 3; Score-CAM masked-pass size = the input's; "
        "Score-CAM channel score = class probability (authors' code)"
    )
    assert settings.MethodSettings(["gradcam"], "exact", {}).label() == "Exact"
    assert settings.value_label("perturbation_size", 64) == "64 px" and settings.value_label("top_k", None) == "all"
    assert settings.value_label("combination", "relu_w") == "ReLU(C_k) × w_k / max w" and settings.value_label("noise_level", 0.2) == "0.2"
    assert settings.param_key("fast", "scorecam", "score") == "camlib_param::fast::scorecam::score"
    assert settings.perturbation_size_options("scorecam", "exact") == ([0, 160, 112, 64], 0)  # 0: the input's own size
    assert settings.perturbation_size_options("gradpp_scorecam", "test") == ([0, 160, 112, 64], 64)
    monkeypatch.setitem(settings.SPEED_PRESETS["test"].params["scorecam"], "perturbation_size", 96)
    assert settings.perturbation_size_options("scorecam", "test") == ([0, 160, 112, 64, 96], 96)  # the preset's own, added
    assert settings.perturbation_size_label(0) == "the input's own size (exact)" and settings.perturbation_size_label(96) == "96 px"


def test_the_resolution_line_lists_the_measured_seconds(monkeypatch):
    from camlib import timings

    monkeypatch.setattr(timings, "resolution_seconds", {224: 2.9, 448: 16.0}.get)
    assert settings.resolution_timing_text() == (
        f"All six methods at Fast, measured on {timings.THREADS} threads of an idle 2-core CPU: 224 px: 2.9 s, 448 px: 16 s."
    )
    monkeypatch.setattr(timings, "resolution_seconds", lambda resolution: None)
    assert settings.resolution_timing_text() is None


def test_the_grid_requests_maps_under_the_pages_settings_and_shows_caveats_only_for_the_shipped_weights():
    image = inputs.ImageInput("x.png", "digest", Image.new("RGB", (8, 8)))
    chosen = settings.MethodSettings(["gradcam", "scorecam"], "test", {"scorecam": {"score": "probability"}}, 448)
    request = maps.settings_request(image, LITE0, "conv_head", 281, "scorecam", chosen)
    assert request == maps.MapRequest("digest", LITE0, "conv_head", 281, "scorecam",
                                      (("batch_size", 128), ("perturbation_size", 64), ("sampled_channels", 32), ("score", "probability")), 448)
    assert maps.shown_caveats("scorecam", "efficientnet_lite0", "conv_head", "/my/weights.pth") == []
    from camlib.measured import caveats

    assert maps.shown_caveats("scorecam", "efficientnet_lite0", None, None) == caveats("scorecam", "efficientnet_lite0", "bn2")


def test_the_figure_notes_and_the_inspected_map():
    _, _, results = a_map_and_a_refusal(224, 0.1)
    assert figures.rendered_methods(results) == ["gradcam"]
    assert figures.inspected_first(["gradcam", "scorecam", "gradpp_scorecam"]) == 2
    assert figures.inspected_first(["gradcam", "scorecam"]) == 0
    assert figures.figure_scale_note(True) == figures.COMMON_SCALE_FIGURE_NOTE
    assert figures.figure_scale_note(False) == figures.SCALE_NOTE


def test_the_samples_a_page_offers(monkeypatch, tmp_path):
    for name in ("dog_and_cat.png", "dogs.png"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(inputs, "PHOTOS_DIR", tmp_path)
    chelsea = inputs.ImageInput("chelsea", "d1", Image.new("RGB", (8, 8)), inputs.SAMPLES[0])
    pair = inputs.ImageInput("pair", "d2", Image.new("RGB", (8, 8)), inputs.SAMPLES[3])
    assert inputs.sample_to_offer(chelsea) == inputs.SAMPLES[3]
    assert inputs.sample_to_offer(pair) is None  # already the current image
    assert list(inputs.samples_with_instances()) == ["Six dogs (pytorch-grad-cam)"]  # only the counted photos on this machine
    assert inputs.counted_instances(pair) is None and inputs.counted_instances(chelsea) is None
    monkeypatch.setattr(inputs, "PHOTOS_DIR", tmp_path / "absent")
    assert inputs.sample_to_offer(chelsea) is None and inputs.samples_with_instances() == {}
    assert inputs.images_or_samples([pair]) == [pair]
    assert [image.name for image in inputs.images_or_samples([])] == [sample.label for sample in inputs.SAMPLES[:3]]  # scikit-image's
    assert inputs.set_note([pair]) is None and inputs.set_note([]) == "No images uploaded: the set is the built-in samples."


def test_the_crowd_photo_and_its_notes():
    crowds = {"Six dogs (pytorch-grad-cam)": inputs.SAMPLES[4]}
    current = inputs.ImageInput("mine.png", "d", Image.new("RGB", (8, 8)))
    assert instances.crowd_options(crowds) == (["current", "Six dogs (pytorch-grad-cam)"], 1)
    assert instances.crowd_options({}) == (["current"], 0)
    assert instances.crowd_option_label("current", "mine.png") == "The current image (mine.png)"
    assert instances.crowd_option_label("Six dogs (pytorch-grad-cam)", "mine.png") == "Six dogs (pytorch-grad-cam)"
    assert instances.crowd_photo("current", current, crowds) is current
    assert instances.no_crowd_note(crowds) is None
    assert instances.no_crowd_note({}) == "Upload a photo with several objects of one class to see how each method spreads over them."
    assert instances.resolution_note(224) is None
    assert instances.resolution_note(448).startswith("At 448 px the objects look larger than in the 224-px photos")
    assert instances.pointing_missing_text("vgg16", "features.29") == (
        "Not measured for VGG16 at layer features.29. Run "
        "`camlib pointing-game IMAGES_DIR --backbone vgg16 --layer features.29 --half report`."
    )


def test_the_faithfulness_page_evaluates_a_set_only_for_the_button_and_keeps_the_latest_evaluations():
    images = [inputs.ImageInput(name, name, Image.new("RGB", (8, 8))) for name in ("a.png", "b.png")]
    signature = faithfulness.set_signature(images, "efficientnet_lite0", "bn2", ["gradcam", "center"], "fast", {})
    assert signature == (("a.png", "b.png"), "efficientnet_lite0", "bn2", ("gradcam", "center"), "fast", "{}")
    state = {}
    assert not faithfulness.set_requested(state, signature, clicked=False)
    assert faithfulness.set_requested(state, signature, clicked=True)
    assert faithfulness.set_requested(state, signature, clicked=False)  # still shown on the next rerun
    assert not faithfulness.set_requested(state, signature[:-1] + ("{'scorecam': {}}",), clicked=False)  # settings changed
    assert faithfulness.evaluate_label(images, ["gradcam", "center"]) == "Evaluate 2 image(s) × 2 map(s)"
    assert faithfulness.set_line(images) == "2 image(s): a.png, b.png"
    assert faithfulness.evaluation_signature("set", images, "vgg16", None, "features.29", ["gradcam"], ["gradcam"],
                                             lambda key: (("k", 1),), 16) == (
        "set", ("a.png", "b.png"), "vgg16", None, "features.29", ("gradcam",), ((("k", 1),),), 16)
    cache, calls = {}, []
    for signature in range(10):
        assert faithfulness.remembered(cache, signature, lambda signature=signature: calls.append(signature) or signature * 2) == signature * 2
    assert faithfulness.remembered(cache, 9, lambda: calls.append("again")) == 18  # from the cache, not computed again
    assert list(cache) == list(range(2, 10)) and calls == list(range(10))


def test_the_faithfulness_page_texts():
    assert faithfulness.failures_text({}) is None
    assert faithfulness.failures_text({"Grad-CAM": ["ADCC ↑", "Coherency ↑"], "CAM": ["ADCC ↑"]}) == (
        "Not shown to beat the centre blob (no model), by the 95 % interval of the paired difference over these images:\n- **Grad-CAM** on ADCC ↑, Coherency ↑\n- **CAM** on ADCC ↑"
    )
    labels, default = faithfulness.chart_choices()
    assert labels == [metric.label for metric in faithfulness.METRICS] and labels[default] == "ADCC ↑" and default == 10
    assert faithfulness.metrics_guide().splitlines()[0] == f"- **Average Drop (%) ↓**: {faithfulness.METRICS[0].guide}"
    assert faithfulness.table_height(faithfulness.pd.DataFrame({"a": range(13)})) == 506
    from camlib.evaluate import TABLE_ROWS

    directions = {row.field: row.higher_is_better for row in TABLE_ROWS}  # one source for ↑ / ↓ and for the centre-blob check
    assert all(metric.higher_is_better == directions[metric.field] for metric in faithfulness.METRICS)
    assert [metric.label for metric in faithfulness.METRICS][:3] == ["Average Drop (%) ↓", "Average Increase (%) ↑", "Insertion AUC ↑"]


def test_a_methods_header_names_its_paper_and_cost():
    info = METHODS["gradcam"]
    assert teaching.method_header(info) == (
        f"[{info.paper}]({info.paper_url})  \n**Cost per image:** {info.cost} (relative cost {info.relative_cost} of 5)."
    )
