"""The model box's entries: the built-in backbones, the named models of the models file (camlib's examples, and
the operator's file from ``CAMLIB_MODELS``), then the models loaded in this session from uploads.

An entry is text (the box's value, and part of the layer box's key): a built-in key (``efficientnet_lite0``),
``named:NAME`` or ``upload:HASH``. :func:`entry_choice` turns it into the :class:`~camlib.app.models.ModelChoice`
that loads it.
"""

from __future__ import annotations

import hashlib
import logging

from camlib.app.models import ModelChoice
from camlib.app.uploads import choice_label
from camlib.backbones import BACKBONES
from camlib.errors import CamlibError

logger = logging.getLogger(__name__)

NAMED_PREFIX = "named:"
UPLOAD_PREFIX = "upload:"
UPLOADED_MODELS_KEY = "camlib_uploaded_models"  # session state: entry -> ModelChoice of the models loaded from uploads
WEIGHTS_STATE_KEY = "camlib_weights_paths"  # session state: built-in key -> the state-dict path chosen for it


def named_models() -> dict:
    """The models file's named models (name -> spec); none when this camlib has no models file or it is unreadable
    (the operator sees why in the server's log)."""
    try:
        from camlib.backbones import named_models as read_named_models
    except ImportError:
        return {}
    try:
        return read_named_models()
    except CamlibError as error:
        logger.warning("The models file is not used: %s", error)
        return {}


def _state_get(state, key: str, default):
    return state[key] if key in state else default  # noqa: SIM401 - an AppTest's session state has no .get


def model_entries(state) -> list[str]:
    """The box's entries: built-in backbones, then named models, then this session's uploads."""
    return [*BACKBONES, *(NAMED_PREFIX + name for name in named_models()), *_state_get(state, UPLOADED_MODELS_KEY, {})]


def entry_label(entry: str, state) -> str:
    if entry in BACKBONES:
        return BACKBONES[entry].display_name
    if entry.startswith(NAMED_PREFIX):
        spec = named_models().get(entry[len(NAMED_PREFIX):])
        return spec.display_name if spec is not None else entry[len(NAMED_PREFIX):]
    uploaded = _state_get(state, UPLOADED_MODELS_KEY, {}).get(entry)
    return f"Your model: {choice_label(uploaded)}" if uploaded else entry


def entry_choice(entry: str, state) -> ModelChoice:
    """What loads the entry's model; a built-in backbone with the weights this session gave it."""
    if entry.startswith(NAMED_PREFIX):
        return ModelChoice(entry[len(NAMED_PREFIX):])
    if entry.startswith(UPLOAD_PREFIX):
        return _state_get(state, UPLOADED_MODELS_KEY, {})[entry]
    return ModelChoice(entry, _state_get(state, WEIGHTS_STATE_KEY, {}).get(entry))


def add_upload(state, choice: ModelChoice) -> str:
    """Remember a loaded upload in the session; returns its entry."""
    entry = UPLOAD_PREFIX + hashlib.sha256(repr((choice.spec, choice.weights, choice.classes)).encode()).hexdigest()[:16]
    state[UPLOADED_MODELS_KEY] = {**_state_get(state, UPLOADED_MODELS_KEY, {}), entry: choice}
    return entry
