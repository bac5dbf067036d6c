"""Example models that ship with camlib, listed in models.toml."""
