"""Settings' "Beyond this computer" box: a shared LLM server and an index on object storage.

Both are settings like any other (``llm_url``, ``llm_api_key``, ``llm_model``, ``index_uri``,
``storage_options``), saved with the rest of the form; docs/scale-out.md explains the set-ups.
Secrets are shown as dots until edited.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLineEdit, QVBoxLayout, QWidget

from engine.settings import Settings
from gui.widgets import form_group, hint

#: Form field -> LanceDB storage option it fills.
STORAGE_FIELDS = (("endpoint", "Endpoint", "https://s3.example.com or http://127.0.0.1:9000"),
                  ("region", "Region", "us-east-1"),
                  ("aws_access_key_id", "Access key", ""),
                  ("aws_secret_access_key", "Secret key", ""))
SECRET_FIELDS = {"aws_secret_access_key"}


def _line(placeholder: str, secret: bool = False) -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(placeholder)
    if secret:
        edit.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
    return edit


class ScalePanel(QWidget):
    """LLM server URL, key and model; index URI and its storage options."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        box, form = form_group("Beyond this computer")
        layout.addWidget(box)
        self.llm_url = _line("none: the model runs here (e.g. http://gpu-box:8080/v1)")
        self.llm_key = _line("none", secret=True)
        self.llm_model = _line("the first model the server lists")
        form.addRow("LLM server", self.llm_url)
        form.addRow("Its API key", self.llm_key)
        form.addRow("Its model", self.llm_model)
        form.addRow("", hint("Any OpenAI-compatible server (llama-server, vLLM, another "
                             "Satchel's API). The adapter modes need the adapter loaded in the "
                             "server itself (llama-server --lora)."))
        self.index_uri = _line("this computer (e.g. s3://team-bucket/satchel)")
        form.addRow("Index location", self.index_uri)
        self.storage: dict[str, QLineEdit] = {}
        for key, label, placeholder in STORAGE_FIELDS:
            self.storage[key] = _line(placeholder, secret=key in SECRET_FIELDS)
            form.addRow(label, self.storage[key])
        self.allow_http = QCheckBox("Allow plain HTTP (a storage server on this network)")
        form.addRow("", self.allow_http)

    def load(self, settings: Settings) -> None:
        self.llm_url.setText(settings.llm_url)
        self.llm_key.setText(settings.llm_api_key)
        self.llm_model.setText(settings.llm_model)
        self.index_uri.setText(settings.index_uri)
        options = settings.storage_options
        for key, edit in self.storage.items():
            edit.setText(options.get(key, ""))
        self.allow_http.setChecked(options.get("allow_http", "").lower() == "true")

    def apply(self, settings: Settings) -> None:
        settings.llm_url = self.llm_url.text().strip()
        settings.llm_api_key = self.llm_key.text().strip()
        settings.llm_model = self.llm_model.text().strip()
        settings.index_uri = self.index_uri.text().strip()
        options = {k: v for k, v in settings.storage_options.items()
                   if k not in self.storage and k != "allow_http"}  # keep hand-set options
        for key, edit in self.storage.items():
            if edit.text().strip():
                options[key] = edit.text().strip()
        if self.allow_http.isChecked():
            options["allow_http"] = "true"
        settings.storage_options = options
