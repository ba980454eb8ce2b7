"""prepfloor: the prep centers' keyboard-driven terminal application."""

__version__ = "0.1.0"
