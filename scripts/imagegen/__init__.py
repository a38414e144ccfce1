"""image-gen: generate, edit and review images through hosted APIs (standard library only)."""

__version__ = "0.1.0"
