"""image-gen: generate, edit and review images through hosted APIs (standard library only)."""

__version__ = "0.2.0"
