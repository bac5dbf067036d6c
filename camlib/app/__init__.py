"""The glue between camlib and the Streamlit app; ``app.py`` and the pages under ``pages/`` only lay out widgets and
call this package, which holds every decision they show.

- :mod:`~camlib.app.inputs`: sample photos and uploaded images.
- :mod:`~camlib.app.models`: the models every session shares, each with a lock; weights uploads and downloads.
- :mod:`~camlib.app.settings`: the speed presets, each method's parameters, and how the pages name them.
- :mod:`~camlib.app.map_requests`: map requests, their cache, and the worker thread that reports progress.
- :mod:`~camlib.app.plots_and_downloads`: overlays, plotly figures and the grid PNG and .npz exports.
- :mod:`~camlib.app.instances`: the separate hot spots of a map, the crowd photos, and the pointing game's table.
- :mod:`~camlib.app.faithfulness`: Average Drop and Average Increase, in the form of the paper's Table 1, and when
  the page evaluates its set.
- :mod:`~camlib.app.teaching`: formulas and the Grad++ScoreCAM pipeline, from the methods' docstrings.
- :mod:`~camlib.app.class_choice`: which classes a page explains first, and the notes on the model's confidence.
- :mod:`~camlib.app.captions`: the headers, captions, figure titles and file names made from what was chosen.
- :mod:`~camlib.app.widgets`: the Streamlit widgets the pages share, one module per thing they draw.
"""
