"""The package version, read by pyproject.toml at build time and by the code at run time (a file, so
no command pays for `importlib.metadata` to learn it)."""

__version__ = "0.1.0"
