"""Files shipped inside the package (``camlib/data``), found the same way from a clone and from ``pip install``.

- ``photos/``: the multi-object sample photos of the app and the tests (MIT, from pytorch-grad-cam's
  examples; ``photos/LICENSE-pytorch-grad-cam`` is the notice).
- ``results/``: the per-image rows of camlib's report-half evaluation that the app's measured caveats read
  (copies of ``docs/results/``, the one source; ``bench/sync_package_data.py`` refreshes them and
  ``tests/test_resources.py`` checks they are equal).
- ``results/leaderboard.json`` and ``results/leaderboard_pareto.png``: the leaderboard the app's Leaderboard page
  shows (written by ``bench/leaderboard.py`` from the rows above).
- ``paper/table1.csv``: the Grad++ScoreCAM paper's Table 1 (``paper/README.md`` says where it comes from).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGED_RESULTS = (
    "report_lite0_bn2.csv",
    "report_lite0_bn2_scorecam_fast.csv",
    "report_lite0_conv_head.csv",
    "report_lite1_bn2_fast.csv",
    "report_lite2_bn2_fast.csv",
    "pointing_lite0_bn2.csv",
    "pointing_lite0_conv_head.csv",
    "pointing_lite1_bn2.csv",
    "app_timings.json",
    "pointing_lite2_bn2.csv",
    "leaderboard.json",
    "leaderboard_pareto.png",
)
"""The files of ``docs/results/`` that the app reads at run time, shipped in ``camlib/data/results/``."""


def resource_path(name: str) -> Path:
    """The path of ``name`` (e.g. ``"photos/dogs.png"``, ``"results"``) under the installed ``camlib/data``.

    camlib is installed as plain files (no zip), so this is a real path on disk."""
    return Path(str(files("camlib").joinpath("data", *name.split("/"))))
