"""Package data: what the app reads at run time ships inside camlib (camlib/data), equal to its sources."""

from __future__ import annotations

import hashlib

import pytest
from conftest import REPO_ROOT

from camlib.resources import PACKAGED_RESULTS, resource_path

SAMPLE_PHOTOS = ("dog_and_cat.png", "dogs.png", "horses.jpg", "puppies.jpg", "single_cat.jpg", "single_dog.jpg")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", PACKAGED_RESULTS)
def test_packaged_results_equal_docs_results(name):
    """docs/results/ is the one source; a copy that drifted from it fails (run bench/sync_package_data.py)."""
    source, packaged = REPO_ROOT / "docs" / "results" / name, resource_path(f"results/{name}")
    assert packaged.is_file(), f"{packaged} is missing: run python bench/sync_package_data.py"
    assert _digest(packaged) == _digest(source), f"camlib/data/results/{name} differs from docs/results/{name}: run python bench/sync_package_data.py"


def test_a_drifted_copy_would_be_caught(tmp_path):
    """Negative control: one changed byte changes the digest the test above compares."""
    source = REPO_ROOT / "docs" / "results" / PACKAGED_RESULTS[0]
    changed = tmp_path / "changed.csv"
    data = bytearray(source.read_bytes())
    data[-2] = ord("0") if data[-2] != ord("0") else ord("1")
    changed.write_bytes(bytes(data))
    assert _digest(changed) != _digest(source)


def test_photos_ship_with_their_licence_and_the_paper_table_with_its_source():
    for name in SAMPLE_PHOTOS:
        assert resource_path(f"photos/{name}").stat().st_size > 10_000, name
    licence = resource_path("photos/LICENSE-pytorch-grad-cam").read_text()
    assert "MIT License" in licence and "Jacob Gildenblat" in licence and "pytorch-grad-cam" in licence
    assert resource_path("paper/table1.csv").read_text().startswith("metric,")
    assert "doi:10.1109/ACCESS.2024.3392853" in resource_path("paper/README.md").read_text()


def test_pyproject_declares_the_package_data():
    text = (REPO_ROOT / "pyproject.toml").read_text()
    for pattern in ('"data/photos/*"', '"data/results/*.csv"', '"data/paper/*"'):
        assert pattern in text
