# The two commands of the README: `make run` (dashboard on the demo data) and `make test`.
# `make run DB=data/real.duckdb` serves a database made with `python -m etl init`: the demo is
# built only where no database file exists.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB := $(or $(DASHBOARD_DB),data/governance.duckdb)
PORT ?= 8501
# Run apt-get directly as root, through sudo otherwise.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test demo init report bench system-deps clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# What the tests need from the system: a browser for the end-to-end test, poppler to render
# and read the PDF, a CJK font so screenshots show Chinese.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null \
	    || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends chromium poppler-utils fonts-wqy-microhei fontconfig >/dev/null; \
	fi

run: $(BIN)/.installed
	@test -f "$(DB)" || $(BIN)/python -m etl demo --db "$(DB)"
	@$(BIN)/python -m etl user first-run
	DASHBOARD_DB="$(DB)" $(BIN)/python -m dashboard.serve --server.port $(PORT) --browser.gatherUsageStats false

test: $(BIN)/.installed system-deps
	$(BIN)/python -m pytest

demo: $(BIN)/.installed
	$(BIN)/python -m etl demo --db "$(DB)"

init: $(BIN)/.installed
	$(BIN)/python -m etl init --db "$(DB)"

report: $(BIN)/.installed
	@test -f "$(DB)" || $(BIN)/python -m etl demo --db "$(DB)"
	@mkdir -p build
	$(BIN)/python -m report --db "$(DB)" --out build/weekly-report.pdf

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_load.py
	@for b in bench/bench_pages.py bench/bench_report.py; do \
	  if [ -f $$b ]; then $(BIN)/python $$b; fi; done

clean:
	rm -rf $(VENV) build test-artifacts
