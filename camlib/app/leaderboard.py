"""The Leaderboard page's data: the leaderboard that ``bench/leaderboard.py`` wrote from the report-half rows
(``docs/results/leaderboard.json`` and ``leaderboard_pareto.png``, shipped as package data), read and checked
before it is shown. A record that does not state its setting (half, model, layer, speed setting, images) is
refused with one line rather than shown as if it meant something."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from camlib.resources import resource_path

LEADERBOARD_FILE = resource_path("results") / "leaderboard.json"
PARETO_FILE = resource_path("results") / "leaderboard_pareto.png"
MAX_BYTES = 4 * 2**20
REQUIRED = ("title", "setting", "table", "pareto", "recommendations")
SETTING_WORDS = (" half", " at layer ", "speed setting", " images")
"""What every model's setting line must say: the half, the model and its layer, the speed setting, n images."""


@dataclass(frozen=True)
class Leaderboard:
    models: list[dict]
    field: str
    field_sentences: list[str]
    command: str


class LeaderboardMissing(Exception):
    """No leaderboard to show, or a damaged one; the message is one line for the page."""


def states_its_setting(record: dict) -> bool:
    setting = str(record.get("setting", ""))
    return all(isinstance(record.get(key), (str, list)) and record.get(key) for key in REQUIRED) and all(
        word in setting for word in SETTING_WORDS
    )


def load_leaderboard(path: Path = LEADERBOARD_FILE) -> Leaderboard:
    """The checked leaderboard, or :class:`LeaderboardMissing` saying why there is none to show."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise LeaderboardMissing(f"The leaderboard file is larger than {MAX_BYTES // 2**20} MiB; it is not camlib's.")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise LeaderboardMissing(
            "No leaderboard ships with this copy of camlib (results/leaderboard.json is missing or damaged); "
            "`python bench/leaderboard.py` writes it."
        ) from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list) or not models:
        raise LeaderboardMissing("The leaderboard file holds no model; `python bench/leaderboard.py` rewrites it.")
    for record in models:
        prefix = record.get("prefix") if isinstance(record, dict) else None
        if prefix is not None and not (isinstance(prefix, dict) and states_its_setting({**record, **prefix})):
            raise LeaderboardMissing(
                "A leaderboard table does not state its setting (half, model, layer, speed, images); it is not shown."
            )
        if not isinstance(record, dict) or not states_its_setting(record):
            raise LeaderboardMissing(
                "A leaderboard table does not state its setting (half, model, layer, speed, images); it is not shown."
            )
    sentences = [str(line) for line in data.get("field_sentences", [])]
    return Leaderboard(models, str(data.get("field", "")), sentences, str(data.get("command", "")))


def pareto_image(path: Path = PARETO_FILE) -> Path | None:
    return path if path.is_file() else None
