# lava-ff: two commands after cloning, `make demo` and `make test`.
# Both build .venv first (CPython 3.10, project editable + dev group).
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.lava-ff-installed
DATA  ?=
OUT   ?= runs/demo
PYTEST_ARGS ?=

.PHONY: venv demo test lint docs notebooks wheel clean-venv
venv: $(STAMP)

# Rebuilt only when pyproject.toml changes, so a warm `make venv` is instant.
$(STAMP): pyproject.toml
	@set -euo pipefail; \
	py310=$$(scripts/find_python310.sh); \
	if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "creating $(VENV) with $$py310"; rm -rf "$(VENV)"; "$$py310" -m venv "$(VENV)"; \
	fi; \
	"$(PY)" -m pip install -q --upgrade "pip>=25.1"; \
	"$(PY)" -m pip install -q -e . --group dev 2>&1 | { grep -v -e "is ignored: it is neither" -e "^ *$$" >&2 || true; }; \
	"$(PY)" -c "import lava_ff.processes, lava.lib.dl.netx"; \
	touch "$(STAMP)"

# digits by default; `make demo DATA=../shared/data` runs a 10,000-image MNIST slice
demo: venv
	$(VENV)/bin/lava-ff demo --out $(OUT) $(if $(DATA),--data $(DATA),)

test: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check lava_ff processes netx_export tests benchmarks scripts
	$(PY) scripts/lint_imports.py

# the documentation site, into site/ (strict: a broken link or reference fails the build)
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# execute every tutorial at its default settings and commit them with their outputs
notebooks: venv
	$(PY) scripts/run_notebooks.py tutorials/*.ipynb

# the wheel and sdist, into dist/
wheel: venv
	$(PY) -m build --outdir dist .

clean-venv:
	rm -rf $(VENV)
