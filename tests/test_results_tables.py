"""bench/results_tables.py --update: tables written under their headings, the prose around them kept."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from results_tables import update_document  # noqa: E402

DOCUMENT = """# Results

### Table A

| old | a |
|---|---|

old note on A

### Grid game (10 grids of 448 × 448)

| old | g |

## Prose

#### Study S

| old | s |
|---|---|

Prose after the study stays.
"""


def test_tables_replace_their_sections_and_keep_the_prose():
    found = [
        ("Table A", "| new | a |\n|---|---|\n\nnew note on A", True),
        ("Grid game (20 grids of 448 × 448)", "| new | g |", True),
        ("Study S", "| new | s |\n|---|---|", False),
        ("Absent", "| x |", True),
    ]
    text, missing = update_document(DOCUMENT, found)
    assert missing == ["Absent"]
    assert "old" not in text
    assert "### Table A\n\n| new | a |\n|---|---|\n\nnew note on A\n\n### Grid game (20 grids of 448 × 448)\n\n| new | g |\n\n## Prose" in text
    assert "#### Study S\n\n| new | s |\n|---|---|\n\nProse after the study stays.\n" in text
