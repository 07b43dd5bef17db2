# The two commands of the README: `make demo` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench worker sweeper clean translations messages

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP) translations  ## Run Jury on SQLite with inline jobs and the sandbox network at http://127.0.0.1:5000
	$(BIN)/flask --app wsgi demo

test: $(STAMP) translations  ## Security lint, the layers contract, then the whole test suite (PostgreSQL and Redis on 127.0.0.1, Debian chromium)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	./scripts/ensure-chromium.sh
	$(BIN)/python -m pytest

lint: $(STAMP)  ## The security rules (ruff's flake8-bandit set, configured in pyproject.toml) and the layers contract
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(STAMP)  ## Run the speed measurements (PostgreSQL on 127.0.0.1)
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/dealing.py
	$(BIN)/python benchmarks/quality.py
	$(BIN)/python benchmarks/scoring_sklearn.py
	$(BIN)/python benchmarks/scoring_detoxify.py
	$(BIN)/python benchmarks/simulation.py

translations: $(STAMP)  ## Compile the interface's gettext catalogs (translations/*/LC_MESSAGES/*.mo)
	$(BIN)/pybabel -q compile -d translations

messages: $(STAMP)  ## Re-extract the marked strings and merge them into every catalog
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --project Jury -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching

worker: $(STAMP)
	$(BIN)/flask --app wsgi worker

sweeper: $(STAMP)
	$(BIN)/flask --app wsgi sweep --loop

clean:
	rm -rf $(VENV) instance .pytest_cache
