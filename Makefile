# The two commands of the README quickstart. Each creates .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

.PHONY: demo test lint format system-libs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# WeasyPrint needs Pango; libharfbuzz-subset0 makes small PDFs 5-7x faster. Installed only
# when missing and when we are allowed to (root with apt-get); otherwise we say what to do.
system-libs:
	@missing=""; for p in $(SYSTEM_LIBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system libraries:$$missing"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $$missing)) >/dev/null; \
	  else echo "note: install these system packages for PDF output:$$missing"; fi; \
	fi

demo: system-libs $(VENV)/.installed
	$(BIN)/reconcile demo

test: system-libs $(VENV)/.installed-test
	$(BIN)/ruff check reconcile tests bench
	$(BIN)/ruff format --check reconcile tests bench
	$(BIN)/mypy reconcile
	$(BIN)/python -m pytest -n 2 -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check reconcile tests bench
	$(BIN)/ruff format --check reconcile tests bench
	$(BIN)/mypy reconcile

format: $(VENV)/.installed-test
	$(BIN)/ruff format reconcile tests bench
	$(BIN)/ruff check --fix reconcile tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
