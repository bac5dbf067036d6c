"""Second hardening round (issue 13): every bad input ends in one clear line, and sizes are bounded
before work is done. Each test here failed before its fix."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, make_tiny_backbone, make_tiny_gap_net
from image_samples import RED, encode, many_page_tiff, noise
from PIL import TiffImagePlugin

import camlib.backbones
import camlib.backbones.downloads
import camlib.backbones.weights
import camlib.images
from camlib.backbones import MAX_WEIGHTS_BYTES, download_weights, read_state_dict
from camlib.cli import main
from camlib.errors import (
    ImageLoadError,
    InvalidParameterError,
    UnknownClassError,
    UnknownLayerError,
    UnknownMethodError,
    WeightsError,
    WeightsUnavailableError,
)
from camlib.explain import build_method, explain
from camlib.images import MAX_FILE_BYTES, MAX_PAGES_COUNTED, load_image, load_image_with_notes
from camlib.methods import GradPPScoreCAM, ScoreCAM, SmoothGradCAMpp
from camlib.methods.params import PARAM_BOUNDS, method_parameters
from camlib.methods.registry import validate_method_params, validate_params_for_methods

# -- sizes bounded before work ---------------------------------------------------------------------------


def test_image_file_over_the_byte_limit_is_refused_from_its_size(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    with open(path, "wb") as handle:  # sparse: no disk used, and never read
        handle.truncate(MAX_FILE_BYTES + 1)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(camlib.images.Path, "read_bytes", no_reading)
    with pytest.raises(ImageLoadError, match=r"huge.png is larger than 256 MiB"):
        load_image(path)


def test_image_bytes_and_file_objects_over_the_byte_limit_are_refused(monkeypatch):
    data = encode(noise(64, 64))
    monkeypatch.setattr(camlib.images, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(ImageLoadError, match="larger than"):
        load_image(data)

    class Endless(io.RawIOBase):
        """A stream that never ends, as /dev/zero: only a bounded read can refuse it."""

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    with pytest.raises(ImageLoadError, match="larger than"):
        load_image(io.BufferedReader(Endless()))


def test_multi_page_tiff_pages_are_counted_only_up_to_the_limit(monkeypatch):
    seeks = []
    original = TiffImagePlugin.TiffImageFile._seek

    def counting(self, frame):
        seeks.append(frame)
        return original(self, frame)

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_seek", counting)
    loaded = load_image_with_notes(many_page_tiff(3 * MAX_PAGES_COUNTED))
    assert loaded.image.getpixel((0, 0)) == (128, 128, 128)
    assert f"more than {MAX_PAGES_COUNTED} pages" in loaded.notes[0]
    assert max(seeks) <= MAX_PAGES_COUNTED  # never walked to the last page


def test_multi_page_tiff_below_the_limit_gives_its_page_count():
    assert "(3 pages)" in load_image_with_notes(many_page_tiff(3)).notes[0]


def test_non_utf8_file_name_in_messages(tmp_path):
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")
    path = tmp_path / name
    path.write_bytes(b"not an image at all, just text\n")
    with pytest.raises(ImageLoadError) as raised:
        load_image(path)
    message = str(raised.value)
    assert "caf\\xe9.png" in message
    message.encode("utf-8")  # printable: no lone surrogate left
    assert RED  # the sample module is importable alongside


# -- method parameters: one validator for the CLI, the app and the library -----------------------------------



BAD_PARAMS = [
    ("scorecam", {"no_such": 1}, "has no parameter 'no_such'"),
    ("scorecam", {"model": 1}, "set by camlib"),
    ("scorecam", {"target_layer": "x"}, "set by camlib"),
    ("cam", {"classifier_layer": "fc"}, "set by camlib"),
    ("gradcam", {"progress": None}, "set by camlib"),
    ("gradpp_scorecam", {"top_k": 2.5}, "top_k must be an integer or none"),
    ("gradpp_scorecam", {"top_k": 1e3}, "top_k must be an integer or none"),
    ("gradpp_scorecam", {"top_k": "abc"}, "top_k must be an integer or none"),
    ("gradpp_scorecam", {"top_k": True}, "top_k must be an integer or none"),
    ("smoothgradcampp", {"noise_level": float("nan")}, "finite"),
    ("smoothgradcampp", {"n_samples": 10**9}, "at most 1000"),
    ("scorecam", {"perturbation_size": 100_000}, "at most 1024"),
    ("scorecam", {"batch_size": 0}, "at least 1"),
    ("scorecam", {"score": "logits"}, "'logit' or 'probability'"),
    ("scorecam", {"mixed_precision": "yes"}, "true or false"),
]


@pytest.mark.parametrize(("key", "params", "message"), BAD_PARAMS, ids=[f"{k}-{next(iter(p))}" for k, p, _ in BAD_PARAMS])
def test_bad_method_parameters_are_refused_in_one_line(key, params, message):
    with pytest.raises(InvalidParameterError, match=message) as raised:
        validate_method_params(key, params)
    assert "\n" not in str(raised.value)
    model = make_tiny_gap_net()
    method_class = {"scorecam": ScoreCAM, "gradpp_scorecam": GradPPScoreCAM, "smoothgradcampp": SmoothGradCAMpp}.get(key)
    if method_class is not None and set(params) <= set(method_parameters(method_class)):
        with pytest.raises(InvalidParameterError, match=message):  # built directly: the same check
            method_class(model, "features", **params)


def test_parameters_from_text_are_converted_by_annotation():
    assert validate_method_params(
        "scorecam",
        {"batch_size": "32", "score": "probability", "mixed_precision": "true", "sampled_channels": "none", "seed": "-0"},
        from_text=True,
    ) == {"batch_size": 32, "score": "probability", "mixed_precision": True, "sampled_channels": None, "seed": 0}
    assert validate_method_params("smoothgradcampp", {"noise_level": "0.2"}, from_text=True) == {"noise_level": 0.2}
    for text in ("2.5", "nan", "1e3", "abc", "١٢", "²"):
        with pytest.raises(InvalidParameterError, match="top_k must be an integer or none"):
            validate_method_params("gradpp_scorecam", {"top_k": text}, from_text=True)
    with pytest.raises(InvalidParameterError, match="finite"):
        validate_method_params("smoothgradcampp", {"noise_level": "inf"}, from_text=True)


def test_numpy_values_are_accepted_as_python_ones():
    assert validate_method_params("gradpp_scorecam", {"top_k": np.int64(8)}) == {"top_k": 8}
    assert type(validate_method_params("gradpp_scorecam", {"top_k": np.int64(8)})["top_k"]) is int


def test_every_bound_names_a_real_parameter():
    from camlib.methods import METHODS

    names = {name for info in METHODS.values() for name in method_parameters(info.method_class)}
    assert set(PARAM_BOUNDS) <= names


def test_parameters_for_a_method_that_does_not_run_are_refused(chelsea_image):
    with pytest.raises(InvalidParameterError, match="scorecam, which is not among the methods run"):
        validate_params_for_methods(["gradcam"], {"scorecam": {"batch_size": 8}}, refuse_idle=True)
    assert validate_params_for_methods(["gradcam"], {"scorecam": {"batch_size": 8}}) == {}  # a shared dict is fine
    backbone = tiny_backbone()
    with pytest.raises(UnknownMethodError, match="scorecamm"):  # but a misspelt method is not silently ignored
        explain(backbone, chelsea_image, methods=["gradcam"], method_params={"scorecamm": {"batch_size": 8}})
    with pytest.raises(InvalidParameterError, match="batch_size"):  # nor a bad value for a method not running
        explain(backbone, chelsea_image, methods=["gradcam"], method_params={"scorecam": {"batch_size": 0}})
    with pytest.raises(InvalidParameterError, match="has no parameter"):  # through build_method, as the app does
        build_method("gradcam", backbone, top_k=3)


# -- the library's inputs -----------------------------------------------------------------------------------


def tiny_backbone():
    return make_tiny_backbone()


@pytest.mark.parametrize("value", [np.int64(281), np.int32(281), torch.tensor(281), torch.tensor([281]), np.array(281), "281", " 281 "])
def test_class_indices_of_any_integer_kind(value, chelsea_image):
    backbone = tiny_backbone()
    assert backbone.class_index(value) == 281
    assert explain(backbone, chelsea_image, methods=["gradcam"], target=value).target_class == 281


@pytest.mark.parametrize("value", [2.5, torch.tensor(2.5), True, torch.tensor([1, 2]), None, "²", "١٢"])
def test_class_values_that_are_not_indices_are_refused(value):
    with pytest.raises(UnknownClassError):
        tiny_backbone().class_index(value)


def test_exact_class_name_wins_over_case_insensitive_and_ambiguity_lists_candidates():
    backbone = tiny_backbone()
    assert backbone.class_names[264] == "Cardigan" and backbone.class_names[474] == "cardigan"
    assert backbone.class_index("cardigan") == 474
    assert backbone.class_index("Cardigan") == 264
    with pytest.raises(UnknownClassError, match=r"ambiguous: Cardigan \(264\), cardigan \(474\)"):
        backbone.class_index("CARDIGAN")


def test_method_targets_must_be_integers():
    model = make_tiny_gap_net()
    inputs = torch.rand(1, 3, 32, 32)
    method = build_method("gradcam", tiny_backbone())
    np.testing.assert_array_equal(method(inputs, np.int64(3)), method(inputs, [3]))
    np.testing.assert_array_equal(method(inputs, torch.tensor(3)), method(inputs, [3]))
    for bad in ([2.5], torch.tensor([2.5]), [True]):
        with pytest.raises(UnknownClassError, match="integers"):
            method(inputs, bad)
    assert model is not None


def test_wrong_channel_count_and_dtype_are_one_line():
    backbone = tiny_backbone()
    method = build_method("gradcam", backbone)
    with pytest.raises(InvalidParameterError, match="4 channels"):
        method(torch.rand(1, 4, 32, 32), [1])
    with pytest.raises(InvalidParameterError, match="3 colour channels"):
        backbone.probabilities(torch.rand(1, 1, 32, 32))
    with pytest.raises(InvalidParameterError, match=r"shape \(H, W, 3\)"):
        backbone.to_tensor(np.zeros((8, 8, 4), dtype=np.uint8))
    with pytest.raises(InvalidParameterError, match="integer from 1"):
        backbone.top_predictions(torch.rand(1, 3, 32, 32), k=2.5)


def test_unavailable_or_unknown_devices_are_one_line():
    from camlib.backbones import resolve_device

    with pytest.raises(InvalidParameterError, match="Unknown device"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidParameterError, match="CUDA is not available"):
            resolve_device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_layer_with_1x1_output_is_refused():
    model = make_tiny_gap_net()
    for key in ("gradcam", "scorecam"):
        method = build_method(key, tiny_backbone(), layer="pool")
        with pytest.raises(UnknownLayerError, match="1×1"):
            method(torch.rand(1, 3, 32, 32), [1])
    assert model is not None


def test_deletion_insertion_auc_refuses_negative_and_fractional_targets():
    from camlib.metrics import deletion_insertion_auc

    model = make_tiny_gap_net(classes=10)
    inputs, saliency = torch.rand(1, 3, 16, 16), np.random.default_rng(0).random((16, 16))
    for bad in (-1, 2.5, True):
        with pytest.raises(InvalidParameterError, match="target must be a class index"):
            deletion_insertion_auc(model, inputs, saliency, bad, steps=2)
    insertion, deletion = deletion_insertion_auc(model, inputs, saliency, np.int64(3), steps=2)
    assert 0 <= insertion <= 1 and 0 <= deletion <= 1


# -- the command line: output paths, --param, --limit, signals and pipes -------------------------------------




def one_line_error(capsys, code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("camlib: error: "), captured.err
    return lines[0]


@pytest.fixture
def photo(tmp_path, chelsea_png):
    path = tmp_path / "photo.png"
    path.write_bytes(chelsea_png.read_bytes())
    return path


BAD_OUTPUTS = {
    "no extension": ("grid", None, "must end in"),
    "unknown extension": ("grid.xyz", None, "must end in"),
    "a directory": (".", None, "is a directory"),
    "trailing slash": ("newdir/", None, "is a directory"),
    "parent is a file": ("photo.png/grid.png", None, "is a file, not a folder"),
    "the input image": ("photo.png", None, "is the input image"),
    "maps without .npz": ("grid.png", "maps", "must end in .npz"),
    "maps into a directory": ("grid.png", ".", "is a directory"),
    "maps over the input": ("grid.png", "photo.png", "must end in .npz"),
}


@pytest.mark.parametrize("case", BAD_OUTPUTS)
def test_unwritable_outputs_are_refused_before_work(case, photo, capsys, monkeypatch):
    out, maps, message = BAD_OUTPUTS[case]
    monkeypatch.chdir(photo.parent)
    import camlib.cli

    monkeypatch.setattr(camlib.cli, "load_model", lambda *a, **k: pytest.fail("work started before the output was checked"))
    before = sorted(p.name for p in photo.parent.iterdir())
    args = ["explain", "photo.png", "--methods", "gradcam", "--out", out] + (["--save-maps", maps] if maps else [])
    assert message in one_line_error(capsys, main(args))
    assert sorted(p.name for p in photo.parent.iterdir()) == before
    assert photo.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_read_only_output_folder_is_refused(photo, capsys):
    folder = photo.parent / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        assert "permission denied" in one_line_error(capsys, main(["explain", str(photo), "--out", str(folder / "g.png")]))
    finally:
        folder.chmod(0o700)


def test_failed_write_is_one_line_and_leaves_no_file(photo, capsys, monkeypatch):
    import camlib.cli

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    out = photo.parent / "grid.png"
    original_open = open

    def opening(path, mode="r", *args, **kwargs):
        if str(path).startswith(str(out.parent)) and mode == "wb":
            handle = original_open(path, mode, *args, **kwargs)
            handle.write = full_disk.__get__(handle)
            return handle
        return original_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", opening)
    code = main(["explain", str(photo), "--methods", "gradcam", "--out", str(out)])
    assert "No space left on device" in one_line_error(capsys, code)
    assert not out.exists()
    assert sorted(p.name for p in photo.parent.iterdir()) == ["photo.png"]  # no partial file either
    assert camlib.cli


def test_non_utf8_output_name_is_written(photo, tmp_path, capsys):
    out = tmp_path / b"gr\xe9id.png".decode("utf-8", "surrogateescape")
    maps = tmp_path / b"m\xff.npz".decode("utf-8", "surrogateescape")
    assert main(["explain", str(photo), "--methods", "gradcam", "--out", str(out), "--save-maps", str(maps)]) == 0
    printed = capsys.readouterr().out
    assert "gr\\xe9id.png" in printed and "m\\xff.npz" in printed
    from PIL import Image

    with Image.open(out) as grid:
        assert grid.format == "PNG" and grid.size[0] > 224
    with np.load(maps) as archive:
        assert archive.files == ["gradcam"]


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("gradpp_scorecam.top_k=2.5", "top_k must be an integer"),
        ("gradpp_scorecam.top_k=1e3", "top_k must be an integer"),
        ("gradpp_scorecam.top_k=abc", "top_k must be an integer"),
        ("smoothgradcampp.noise_level=nan", "finite"),
        ("gradpp_scorecam.perturbation_size=100000", "at most 1024"),
        ("gradcam.top_k=3", "gradcam has no parameter 'top_k'"),
        ("gradcam.model=x", "set by camlib"),
        ("scorecam.batch_size=8", "not among the methods run"),
        ("fancycam.x=1", "Unknown method 'fancycam'"),
        ("gradcam", "METHOD.NAME=VALUE"),
        ("gradcam.=3", "METHOD.NAME=VALUE"),
    ],
)
def test_bad_param_options_are_one_line(param, message, photo, capsys):
    code = main(["explain", str(photo), "--methods", "gradcam,gradpp_scorecam,smoothgradcampp", "--param", param,
                 "--out", str(photo.parent / "g.png")])
    assert message in one_line_error(capsys, code)
    assert not (photo.parent / "g.png").exists()


@pytest.mark.parametrize("limit", ["-1", "0", "1.5", "two", "١"])
def test_limit_must_be_a_positive_whole_number(limit, tmp_path, capsys):
    code = main(["evaluate", str(tmp_path), "--limit", limit, "--out", str(tmp_path / "r.csv")])
    assert "--limit: must be a whole number of at least 1" in one_line_error(capsys, code)


def test_usage_errors_are_one_line(capsys):
    assert "required: image" in one_line_error(capsys, main(["explain"]))
    assert "invalid choice" in one_line_error(capsys, main(["explain", "x.png", "--backbone", "foo"]))


def test_evaluate_out_must_not_overwrite_an_input_image(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(encode(noise(8, 8)))
    for out in (folder / "a.png", folder / "new.jpg", folder / "sub" / ".." / "a.png"):
        code = main(["evaluate", str(folder), "--methods", "gradcam", "--out", str(out)])
        assert "would overwrite an image" in one_line_error(capsys, code)
    assert (folder / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in folder.iterdir()) == ["a.png"]


def test_ctrl_c_is_exit_130_with_one_line(photo, capsys, monkeypatch):
    import camlib.cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(camlib.cli, "load_model", interrupted)
    code = main(["explain", str(photo), "--methods", "gradcam", "--out", str(photo.parent / "g.png")])
    captured = capsys.readouterr()
    assert code == 130
    assert captured.err.splitlines() == ["camlib: error: interrupted (Ctrl-C); rows already written are kept, --resume continues."]


def cli_process(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    """``python -m camlib *args`` in ``cwd`` (a test's tmp_path: nothing lands in the repository)."""
    env = {**os.environ, "CAMLIB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "camlib", *args], env=env, cwd=cwd, **kwargs)


def ctrl_c_as_at_a_terminal() -> None:
    """In the child before exec: SIGINT handled by default and not blocked, as in a user's shell. A disposition
    of SIG_IGN or a blocked SIGINT is inherited through exec, and the whole suite's process may carry one
    (the child then ran to the end and exited 0 in two full-suite runs, never alone)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.slow  # a Python process that imports torch and loads Lite0: 7 s on the shared machine
def test_sigint_during_evaluate_keeps_the_rows_and_exits_130(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(40):
        (folder / f"img{i:02d}.png").write_bytes(encode(noise(32, 32, seed=i)))
    out = tmp_path / "rows.csv"
    process = cli_process("evaluate", str(folder), "--methods", "gradcam", "--out", str(out), cwd=tmp_path,
                          stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    seen = ""
    while "2/40" not in seen:  # the progress bar: two images done
        chunk = process.stderr.read(1)
        assert chunk, f"evaluate ended early: {seen}"
        seen += chunk
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130
    lines = [line for line in (seen + rest).replace("\r", "\n").splitlines() if line.startswith("camlib")]
    assert lines == ["camlib: error: interrupted (Ctrl-C); rows already written are kept, --resume continues."]
    assert "Traceback" not in rest
    rows = [line for line in out.read_text().splitlines() if not line.startswith("# camlib-config")]
    assert len(rows) >= 3 and all(row.count(",") == rows[0].count(",") for row in rows)


@pytest.mark.slow  # starts a Python process that imports torch: 17 s on the shared machine
def test_evaluate_merge_into_a_closed_pipe_is_quiet(tmp_path):
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text(
        "file,target,method,base_score,masked_score,insertion_auc,deletion_auc,seconds,error\n"
        "a.png,1,gradcam,0.5,0.4,0.6,0.2,0.1,\n"
    )
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader ("head") is gone before camlib writes
    process = cli_process("evaluate-merge", str(csv_file), cwd=tmp_path, stdout=write_end, stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    _, err = process.communicate(timeout=120)
    assert err == ""
    assert process.returncode == 128 + signal.SIGPIPE


# -- weights: size bounded before torch.load, downloads bounded in time --------------------------------------




def test_weights_archive_that_inflates_past_the_limit_is_refused_before_loading(tmp_path, monkeypatch):
    path = tmp_path / "bomb.pth"
    torch.save({"w": torch.zeros(4)}, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:  # 5 MB of zeros, deflated
        archive.writestr("bomb/data/9", b"\0" * 5_000_000)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(camlib.backbones.weights, "MAX_WEIGHTS_BYTES", 4_000_000)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran on an oversized archive"))
    with pytest.raises(WeightsError, match=r"bomb.pth would unpack to 0.0 GiB, more than"):
        read_state_dict(path)


def test_weights_file_over_the_limit_on_disk_is_refused(tmp_path):
    path = tmp_path / "huge.pth"
    with open(path, "wb") as handle:  # sparse
        handle.truncate(MAX_WEIGHTS_BYTES + 1)
    with pytest.raises(WeightsError, match="larger than the 1 GiB"):
        read_state_dict(path)


def test_download_from_a_server_that_never_answers_times_out(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts connections (the kernel completes the handshake) and never answers
    url = f"http://127.0.0.1:{server.getsockname()[1]}/resnet50-11ad3fa6.pth"
    outcome = []

    def attempt():
        try:
            download_weights(url, tmp_path / "resnet50-11ad3fa6.pth", timeout=0.5)
        except (WeightsUnavailableError, OSError) as error:
            outcome.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60)
    server.close()
    assert not worker.is_alive(), "the download hung"
    assert outcome and "timed out" in str(outcome[0])
    assert list(tmp_path.iterdir()) == []  # no partial file left


def test_offline_torchvision_download_failure_is_one_line(tmp_path, monkeypatch):
    from camlib.backbones import load_backbone

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def no_network(url, timeout):
        raise TimeoutError("timed out")

    monkeypatch.setattr(camlib.backbones.downloads.urllib.request, "urlopen", no_network)
    with pytest.raises(WeightsUnavailableError, match="The download failed: TimeoutError") as raised:
        load_backbone("alexnet", allow_download=True, device="cpu")
    assert "\n" not in str(raised.value)
