"""The glue between camlib and the Streamlit app; the pages under ``pages/`` only lay out widgets.

- :mod:`~camlib.app.inputs`: sample photos and uploaded images.
- :mod:`~camlib.app.models`: the models every session shares, each with a lock; weights uploads and downloads.
- :mod:`~camlib.app.settings`: the speed presets and each method's parameters.
- :mod:`~camlib.app.maps`: map requests, their cache, and the worker thread that reports progress.
- :mod:`~camlib.app.figures`: overlays, plotly figures and the grid PNG and .npz exports.
- :mod:`~camlib.app.instances`: counting the separate regions of a map, for photos with several objects.
- :mod:`~camlib.app.faithfulness`: Average Drop and Average Increase, in the form of the paper's Table 1.
- :mod:`~camlib.app.teaching`: formulas and the Grad++ScoreCAM pipeline, from the methods' docstrings.
- :mod:`~camlib.app.widgets`: the page setup and the sidebar and grid widgets the pages share.
"""
