# The two commands of the README: `make dev` and `make test`. Both set everything up first
# (a virtualenv in .venv with the project and its extras) on any machine with Python 3.11+.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Run the bot on an embedded local Synapse with demo accounts and rooms.
dev: $(STAMP)
	$(BIN)/buurtbot dev

## Lint, then the whole test suite (unit + integration on a real Synapse), then the classify contract.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -p no:cacheprovider
	@if [ -f ../shared/contract/check_classify.py ]; then $(BIN)/python ../shared/contract/check_classify.py $(BIN)/python; fi

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks print figures; see tests/bench/README.md.
bench: $(STAMP)
	$(BIN)/python tests/bench/bench_classify.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
