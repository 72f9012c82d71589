"""Jupyter notebooks, laid out as Jupyter writes them (nbformat 4.5, and the older 3)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import LoadError, NothingToRead
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.notebook import MAX_OUTPUT_CHARS, notebook_blocks

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "a1", "metadata": {},
         "source": ["# Tide gauge calibration\n", "\n",
                    "The gauge at the **east pier** drifts by 3 mm a month.\n"]},
        {"cell_type": "code", "execution_count": 1, "id": "a2", "metadata": {},
         "outputs": [{"name": "stdout", "output_type": "stream",
                      "text": ["offset: 42.5 mm\n"]}],
         "source": ["import pandas as pd\n", "offset = readings.mean() - datum\n",
                    "print(f\"offset: {offset} mm\")"]},
        {"cell_type": "markdown", "id": "a3", "metadata": {}, "source": "## Plot"},
        {"cell_type": "code", "execution_count": 2, "id": "a4", "metadata": {},
         "outputs": [{"data": {"image/png": PNG, "text/plain": ["<Figure size 640x480>"]},
                      "metadata": {}, "output_type": "display_data"},
                     {"data": {"text/plain": ["count    365.0\n", "mean      42.5"]},
                      "execution_count": 2, "metadata": {}, "output_type": "execute_result"}],
         "source": "readings.plot()\nreadings.describe()"},
        {"cell_type": "code", "execution_count": 3, "id": "a5", "metadata": {},
         "outputs": [{"ename": "KeyError", "evalue": "'salinity'", "output_type": "error",
                      "traceback": ["\u001b[0;31mKeyError\u001b[0m ..."]}],
         "source": "readings['salinity']"},
        {"cell_type": "code", "execution_count": None, "id": "a6", "metadata": {},
         "outputs": [], "source": []},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                "name": "python3"},
                 "language_info": {"name": "python", "version": "3.11.2"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_a_notebook_reads_as_prose_code_and_printed_output(tmp_path):
    path = tmp_path / "calibration.ipynb"
    path.write_text(json.dumps(NOTEBOOK, indent=1))
    assert detect_format(path) == "notebook"
    doc = load(path)
    assert doc.title == "Tide gauge calibration" and doc.metadata["language"] == "python"
    kinds = [(b.kind, b.text) for b in doc.pages[0].blocks]
    assert kinds == [
        ("heading", "Tide gauge calibration"),
        ("paragraph", "The gauge at the **east pier** drifts by 3 mm a month."),
        ("code", "```python\nimport pandas as pd\noffset = readings.mean() - datum\n"
                 "print(f\"offset: {offset} mm\")\n```"),
        ("paragraph", "Output: offset: 42.5 mm"),
        ("heading", "Plot"),
        ("code", "```python\nreadings.plot()\nreadings.describe()\n```"),
        ("paragraph", "Output: count    365.0\nmean      42.5"),  # not the plot's placeholder
        ("code", "```python\nreadings['salinity']\n```"),
        ("paragraph", "Output: KeyError: 'salinity'"),
    ]
    assert "iVBOR" not in doc.pages[0].text  # an image is not text


def test_the_older_notebook_format(tmp_path):
    old = {"nbformat": 3, "metadata": {"name": ""}, "worksheets": [{"cells": [
        {"cell_type": "heading", "level": 2, "source": ["Buoy battery"]},
        {"cell_type": "markdown", "source": ["Batteries last 14 months."]},
        {"cell_type": "code", "language": "python", "input": ["print(14 * 30)"],
         "outputs": [{"output_type": "stream", "stream": "stdout", "text": ["420\n"]}]},
        {"cell_type": "code", "input": "1/0", "outputs": [
            {"output_type": "pyerr", "ename": "ZeroDivisionError", "evalue": "division by zero",
             "traceback": []}]}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(old))
    texts = [(b.kind, b.text) for b in load(path).pages[0].blocks]
    assert texts == [("heading", "Buoy battery"), ("paragraph", "Batteries last 14 months."),
                     ("code", "```\nprint(14 * 30)\n```"), ("paragraph", "Output: 420"),
                     ("code", "```\n1/0\n```"),
                     ("paragraph", "Output: ZeroDivisionError: division by zero")]


def test_long_output_is_cut_and_bad_files_get_one_line(tmp_path):
    log = {"cells": [{"cell_type": "code", "source": "train()", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "epoch done\n" * 2000}]}],
        "metadata": {}}
    blocks = notebook_blocks(log)
    assert len(blocks[1].text) <= len("Output: ") + MAX_OUTPUT_CHARS + 2
    assert blocks[1].text.endswith(" …")
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    with pytest.raises(LoadError, match=r"^corrupt notebook \(not JSON"):
        load(broken)
    other = tmp_path / "config.ipynb"
    other.write_text('{"name": "not a notebook"}')
    with pytest.raises(LoadError, match=r"^not a Jupyter notebook"):
        load(other)
    empty = tmp_path / "empty.ipynb"
    empty.write_text('{"cells": [{"cell_type": "code", "source": [], "outputs": []}]}')
    with pytest.raises(NothingToRead):
        load(empty)
    binary = tmp_path / "x.ipynb"
    binary.write_bytes(b"\x00" * 100)
    assert skip_reason(binary) == "binary file (not text)"


@given(st.lists(st.fixed_dictionaries({
    "cell_type": st.sampled_from(["markdown", "code", "raw", "unknown"]),
    "source": st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=3)),
    "outputs": st.lists(st.fixed_dictionaries({
        "output_type": st.sampled_from(["stream", "error", "execute_result"]),
        "text": st.text(max_size=20)}), max_size=2)}), max_size=6))
def test_any_notebook_shape_gives_blocks_without_failing(cells):
    blocks = notebook_blocks({"cells": cells, "metadata": {}})
    assert all(b.text.strip() for b in blocks)
