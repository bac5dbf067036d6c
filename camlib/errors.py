"""The errors camlib raises on purpose.

Every message is written for the person using the tool: the CLI prints it as one line and the app shows
it in place of a traceback. Catch :class:`CamlibError` to handle all of them.
"""


class CamlibError(Exception):
    """Base class of every error that camlib raises deliberately."""


class ImageLoadError(CamlibError):
    """The file or bytes could not be read as an image."""


class WeightsError(CamlibError):
    """A weights file is unreadable, unsafe or does not fit the architecture."""


class WeightsUnavailableError(WeightsError):
    """Pretrained weights are not on this machine and could not be downloaded."""


class MethodNotApplicableError(CamlibError):
    """The method cannot run on this model; the message says why."""


class UnknownLayerError(CamlibError):
    """The layer name does not exist in the model, or the layer has no spatial output."""


class UnknownClassError(CamlibError):
    """The class index or name does not exist."""


class InvalidParameterError(CamlibError):
    """A parameter is out of range, or the model produced unusable output."""


class UnknownNameError(CamlibError):
    """A name that camlib looks up in one of its tables is not there; the message lists the names that are."""


class UnknownMethodError(UnknownNameError):
    """No method is registered under that key."""


class UnknownBackboneError(UnknownNameError):
    """No backbone is registered under that key."""


class UnknownSpeedSettingError(UnknownNameError):
    """No speed setting has that name."""


class ModelLoadError(CamlibError):
    """A model could not be built, or it does not run on an input of its size, or its output is unusable."""
