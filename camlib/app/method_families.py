"""The methods grouped by family (``camlib.methods.METHODS[key].family``) for the sidebar: the paper's six chosen
by default, every other method one click away (in the list, or a whole family from "More methods, by family")."""

from __future__ import annotations

from collections.abc import Iterable

from camlib.methods import FAMILIES, METHODS, PAPER_METHODS

METHODS_KEY = "camlib_methods"


def by_family() -> dict[str, list[str]]:
    """Family -> its method keys, the paper's six first, then in the registry's order."""
    return {family: sorted((k for k, info in METHODS.items() if info.family == family), key=_paper_first) for family in FAMILIES}


def _paper_first(key: str) -> tuple[bool, int]:
    return key not in PAPER_METHODS, list(METHODS).index(key)


def method_options() -> list[str]:
    """Every method key, family by family (so the list reads grouped)."""
    return [key for keys in by_family().values() for key in keys]


def method_label(key: str) -> str:
    """``Grad-CAM · gradient``: the name and its family, as the list shows it."""
    return f"{METHODS[key].display_name} · {METHODS[key].family}"


def with_family(chosen: Iterable[str], family: str) -> list[str]:
    """The chosen methods with every method of ``family`` added (none removed, the order kept)."""
    chosen = [key for key in chosen if key in METHODS]
    return chosen + [key for key in by_family()[family] if key not in chosen]


def family_button_label(family: str, chosen: Iterable[str]) -> str:
    """``Add gradient: HiResCAM, XGrad-CAM, LayerCAM`` (the members not yet chosen)."""
    missing = [METHODS[key].display_name for key in by_family()[family] if key not in set(chosen)]
    return f"Add {family}: {', '.join(missing)}" if missing else f"All {family} methods chosen"


def family_caption(family: str) -> str:
    names = ", ".join(METHODS[key].display_name + (" (paper)" if key in PAPER_METHODS else "") for key in by_family()[family])
    return f"**{family.capitalize()}**: {names}"


def add_family(state, family: str) -> None:
    """Button callback: add ``family`` to the chosen methods in the session ``state``."""
    state[METHODS_KEY] = with_family(state.get(METHODS_KEY, []), family)


def paper_six(state) -> None:
    """Button callback: back to the paper's six."""
    state[METHODS_KEY] = list(PAPER_METHODS)
