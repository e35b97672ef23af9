# Two commands do all the set-up: `make run` (dashboard on the demo catalogue) and `make test` (every test).
# Each bootstraps .venv from the pinned requirements; stamps make a re-run with nothing changed take seconds.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
RUNTIME_STAMP := $(VENV)/.stamp-runtime
DEV_STAMP     := $(VENV)/.stamp-dev
CHROMIUM      ?= /usr/bin/chromium

.PHONY: run test lint unit e2e bench clean-cache venv browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(RUNTIME_STAMP)

# The browser test drives Debian's Chromium through Playwright; `playwright install` cannot work offline.
browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then \
	  echo "Installing Debian Chromium and an emoji font for the browser test (once, about 500 MB)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; \
	fi

run: $(RUNTIME_STAMP)
	$(BIN)/python -m streamlit run app.py --server.port $(PORT)

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

clean-cache: $(RUNTIME_STAMP)
	$(BIN)/python -m mmrec_core cache clear
