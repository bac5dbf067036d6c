"""The Streamlit widgets the pages share, one module per thing they draw; every name is re-exported here, so a
page writes ``widgets.overlay_grid``.

- :mod:`~camlib.app.widgets.page`: the page's frame (config, title, page links, device line, "How to read this", notes).
- :mod:`~camlib.app.widgets.image`: the sample box, the image uploaders, a set of images, a sample's button.
- :mod:`~camlib.app.widgets.model`: the model panel (model box, your own model, layer box) and the form that adds a backbone's weights.
- :mod:`~camlib.app.widgets.method_controls`: the methods, the resolution, the speed preset and each method's parameters.
- :mod:`~camlib.app.widgets.classes`: the class boxes, the top-5 chart and the notes on the model's confidence.
- :mod:`~camlib.app.widgets.display`: the opacity and colormap controls, the colour bar and the figure downloads.
- :mod:`~camlib.app.widgets.grid`: the grid of overlays, a class's row of it, and the single-map inspector.
- :mod:`~camlib.app.widgets.tables`: the faithfulness tables and chart, the pointing game, Table 1 beside the paper's.

What the pages decide (which classes, which notes, titles, button state) is in plain functions of the other
:mod:`camlib.app` modules, tested without Streamlit.
"""

from importlib import import_module

# The names load on first use (PEP 562), so that a page can draw its title and sidebar before the modules that
# import torch and the methods are loaded: ``widgets.page_setup`` imports only Streamlit.
_HOMES = {  # name -> the module that defines it, imported on first use
    **dict.fromkeys(('backbone_label',), 'camlib.app.captions'),
    **dict.fromkeys(('MethodSettings',), 'camlib.app.settings'),
    **dict.fromkeys(('at_resolution', 'class_box', 'classes_to_compare', 'top_5_and_notes'), 'camlib.app.widgets.classes'),
    **dict.fromkeys(('Display', 'colour_scale', 'figure_downloads', 'sidebar_display'), 'camlib.app.widgets.display'),
    **dict.fromkeys(('class_row', 'common_maxima_for', 'map_inspector', 'overlay_grid'), 'camlib.app.widgets.grid'),
    **dict.fromkeys(('SAMPLE_KEY', 'UPLOADER_GENERATION_KEY', 'UPLOADER_KEY', 'UPLOAD_STATE_KEY', 'first_run_preview', 'image_set',
                     'image_uploader', 'offer_sample', 'sidebar_image', 'stop_page', 'uploader_key', 'uploader_key_in', 'use_sample'),
                    'camlib.app.widgets.image'),
    **dict.fromkeys(('sidebar_method_settings', 'sidebar_resolution', 'sidebar_speed'), 'camlib.app.widgets.method_controls'),
    **dict.fromkeys(('ImageAndModel', 'MODEL_KEY', 'SERVER_WEIGHTS_ENV', 'WEIGHTS_STATE_KEY', 'load_model_or_explain', 'own_model_form',
                     'predictions_or_stop', 'server_weights_enabled', 'sidebar_image_and_model', 'sidebar_layer', 'weights_form',
                     'weights_path_for'), 'camlib.app.widgets.model'),
    **dict.fromkeys(('NAVIGATION', 'how_to_read', 'methods_or_stop', 'note', 'page_setup', 'sidebar_device'), 'camlib.app.widgets.page'),
    **dict.fromkeys(('faithfulness_results', 'pointing_game', 'table_1_columns'), 'camlib.app.widgets.tables'),
}


def __getattr__(name: str):
    if name in _HOMES:
        value = getattr(import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_SUBMODULES = ("classes", "comparison", "display", "grid", "image", "method_controls", "model", "page", "tables", "walkthrough")


__all__ = [
    "MODEL_KEY", "NAVIGATION", "SAMPLE_KEY", "SERVER_WEIGHTS_ENV", "UPLOADER_GENERATION_KEY", "UPLOADER_KEY", "UPLOAD_STATE_KEY",
    "WEIGHTS_STATE_KEY", "Display", "at_resolution", "first_run_preview", "ImageAndModel", "MethodSettings", "backbone_label", "class_box", "class_row",
    "classes_to_compare", "colour_scale", "common_maxima_for", "faithfulness_results", "figure_downloads", "how_to_read",
    "image_set", "image_uploader", "load_model_or_explain", "map_inspector", "methods_or_stop", "note", "offer_sample", "overlay_grid", "own_model_form",
    "page_setup", "pointing_game", "predictions_or_stop",
    "server_weights_enabled", "sidebar_device", "sidebar_display", "sidebar_image", "sidebar_image_and_model",
    "sidebar_layer", "sidebar_method_settings", "sidebar_resolution", "sidebar_speed", "stop_page", "table_1_columns",
    "top_5_and_notes", "uploader_key", "uploader_key_in", "use_sample", "weights_form", "weights_path_for",
]
