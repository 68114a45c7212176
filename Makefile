# Single entry point. `make test` and `make conformance` work on a fresh Debian machine:
# both run scripts/setup.sh first (installs OpenSSH, Dropbear and the virtualenv).
PY := .venv/bin/python
WORKERS ?= 2
# Compiled modules are cached in __pycache__ (git-ignored): with PYTHONDONTWRITEBYTECODE set, every
# pytest worker and every `harness` subprocess compiles (and pytest re-rewrites) the whole package
# again, about 1.7 s of CPU each, on a machine the runs keep busy.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup test conformance lint

setup:
	bash scripts/setup.sh

test: setup
	HARNESS_REQUIRE_DOCKER=$${HARNESS_REQUIRE_DOCKER:-1} $(PY) -m pytest -n $(WORKERS) -rsR --reruns 1 --reruns-delay 2 --require-pins tests/ scenarios/

conformance: setup
	$(PY) -m harness interop --out results/
	$(PY) -m harness run --out results/

lint: setup
	$(PY) -m ruff check harness tests
