"""The one version string (pyproject.toml reads it; nothing else spells it)."""

__version__ = "0.1.0"
