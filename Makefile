# Two commands do all the set-up: `make run` (dashboard on the demo catalogue) and `make test` (every test).
# Each bootstraps .venv from the pinned requirements and installs mmrec itself into it (editable, so
# .venv/bin/mmrec exists and `.venv/bin/python -m mmrec_core` works from any folder); stamps make a re-run
# with nothing changed take seconds.
#
# The dashboard listens on 127.0.0.1 only (this machine). To serve a classroom on the local network:
#   make run HOST=0.0.0.0                      (students open http://<this machine's name>:8501)
#   make run HOST=0.0.0.0 PUBLIC_HOST=10.0.0.5 (the address printed for students, if the name does not resolve)
# Anyone who can reach the port can then use the dashboard, its uploads and its runs: only on a trusted network.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
HOST   ?= 127.0.0.1
PUBLIC_HOST ?= $(shell hostname)
RUNTIME_STAMP := $(VENV)/.stamp-runtime
DEV_STAMP     := $(VENV)/.stamp-dev
PROJECT_STAMP := $(VENV)/.stamp-project
CHROMIUM      ?= /usr/bin/chromium
# A wildcard address would make Streamlit ask an outside service for this machine's public IP to print a
# URL; naming the address students should use prints that instead and asks nobody.
SERVE_ARGS = --server.address $(HOST) --server.port $(PORT) \
             $(if $(filter 0.0.0.0 ::,$(HOST)),--browser.serverAddress $(PUBLIC_HOST))

.PHONY: run test lint unit e2e bench clean-cache venv browser

$(BIN)/python:
	@echo "Creating the virtual environment $(VENV) (a few seconds)"
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	@echo "Installing the pinned packages (torch CPU, streamlit, transformers ...) into $(VENV): about 1.5-3 minutes"
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

# setuptools >= 70.1 (pinned here) builds the editable install without `wheel` (Python 3.11's bundled 65.5
# cannot); --no-build-isolation keeps the build itself off the network.
$(PROJECT_STAMP): pyproject.toml $(RUNTIME_STAMP)
	@echo "Installing mmrec itself into $(VENV), editable (a few seconds; gives $(BIN)/mmrec)"
	$(BIN)/python -m pip install -q "setuptools==84.2.1"
	$(BIN)/python -m pip install -q -e . --no-deps --no-build-isolation
	touch $@

$(DEV_STAMP): requirements-dev.txt $(PROJECT_STAMP)
	@echo "Installing the test tools (pytest, ruff, playwright) into $(VENV): about half a minute the first time"
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(PROJECT_STAMP)

# The browser test drives Debian's Chromium through Playwright; `playwright install` cannot work offline.
browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then \
	  echo "Installing Debian Chromium and an emoji font for the browser test (once, about 500 MB)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; \
	fi

run: $(PROJECT_STAMP)
	@echo "Starting the dashboard on http://$(if $(filter 0.0.0.0 ::,$(HOST)),$(PUBLIC_HOST),$(HOST)):$(PORT) (first page in about 5 s)"
	$(BIN)/python -m streamlit run app.py $(SERVE_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/python -m ruff check .

unit: $(DEV_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not e2e"

e2e: $(DEV_STAMP) browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m e2e

test: $(DEV_STAMP) browser
	$(BIN)/python -m ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

bench: $(DEV_STAMP)
	$(BIN)/python -m mmrec_core bench all

clean-cache: $(PROJECT_STAMP)
	$(BIN)/python -m mmrec_core cache clear
