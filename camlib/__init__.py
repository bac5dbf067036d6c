"""camlib: class activation maps for image classifiers, and a side-by-side comparison of the methods."""

__version__ = "0.1.0"
