"""How much the fuzz and soak tests do, in one place.

Shared by tests/test_images_fuzz.py, tests/test_cli_fuzz.py and tests/test_soak.py, which run that much, and
by tests/test_inputs_table.py, which quotes the numbers in docs/inputs.md; no test module imports another.
"""

from __future__ import annotations

import os

IMAGES_FUZZ_EXAMPLES = int(os.environ.get("CAMLIB_FUZZ_EXAMPLES", "250"))
"""Examples per image-loader fuzz test; raise ``CAMLIB_FUZZ_EXAMPLES`` for a longer run."""

CLI_FUZZ_EXAMPLES = int(os.environ.get("CAMLIB_CLI_FUZZ_EXAMPLES", "80"))
"""``camlib explain`` argument lists the CLI fuzz test draws (``CAMLIB_CLI_FUZZ_EXAMPLES``)."""

SOAK_THREADS = 4
SOAK_EXPLANATIONS_PER_THREAD = 25
SOAK_MEMORY_GROWTH_BOUND_MB = 50
"""Largest growth of VmRSS allowed across the soak. One soak allocates a few hundred MB in total (every
masked batch, gradient and map is new), so a leak of any per-explanation object exceeds this."""
