"""One module per script: each has ``build_parser()``, a handler and ``main(argv=None) -> int``."""
