"""The four answer modes: the one definition every part of Satchel imports.

Kept in a module of its own with no imports so the window and the CLI's ``--help`` can read the
modes without loading the answering stack.
"""

from __future__ import annotations

#: Every answer mode, in the order they are shown and run (one adapter switch: base, rag, then
#: the adapter modes).
MODES = ("base", "rag", "adapter", "rag+adapter")
#: The modes that run a LoRA adapter on the model.
ADAPTER_MODES = ("adapter", "rag+adapter")
#: The modes that retrieve passages from a collection.
RETRIEVAL_MODES = ("rag", "rag+adapter")
#: Short names for buttons, table headers and tags.
MODE_LABELS = {"base": "Base", "rag": "RAG", "adapter": "Adapter", "rag+adapter": "RAG+Adapter"}
