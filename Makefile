# lava-ff: two commands after cloning, `make demo` and `make test`.
# Both build .venv first (CPython 3.10, project editable with the lava extra + dev group).
# `make test-core` builds .venv-core (the newest CPython >= 3.11 found, current torch and
# numpy, no Lava) and runs every test that needs no Lava there.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.lava-ff-installed
CORE_VENV ?= .venv-core
CORE_PY   := $(CORE_VENV)/bin/python
CORE_STAMP := $(CORE_VENV)/.lava-ff-installed
# pip's lines no one can act on: an absent local index, and setuptools' note on every editable install
# (processes/ and netx_export/ are mapped into lava_ff on purpose)
PIP_NOISE := -e "is ignored: it is neither" -e "^ *$$" -e "BuildBackendWarning: Editable installation" \
             -e "^ *!!$$" -e "^ *\*\*\*\*" -e "Please be careful with folders" -e "name as your package as" \
             -e "precedence during imports" -e "WheelFile(wheel_path"
DATA  ?=
OUT   ?= runs/demo
PYTEST_ARGS ?=

.PHONY: venv venv-core demo test test-core lint docs notebooks wheel clean-venv
venv: $(STAMP)
venv-core: $(CORE_STAMP)

# Rebuilt only when pyproject.toml changes, so a warm `make venv` is instant.
$(STAMP): pyproject.toml
	@set -euo pipefail; \
	py310=$$(scripts/find_python310.sh); \
	if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "creating $(VENV) with $$py310"; rm -rf "$(VENV)"; "$$py310" -m venv "$(VENV)"; \
	fi; \
	"$(PY)" -m pip install -q --upgrade "pip>=25.1" 2>&1 | { grep -v $(PIP_NOISE) >&2 || true; }; \
	"$(PY)" -m pip install -q -e ".[lava,interop]" --group dev 2>&1 | { grep -v $(PIP_NOISE) >&2 || true; }; \
	"$(PY)" -c "import lava_ff.processes; from lava_ff.core.imports import quiet_import; quiet_import('lava.lib.dl.netx')"; \
	touch "$(STAMP)"

# digits by default; `make demo DATA=../shared/data` runs a 10,000-image MNIST slice
# The core alone: no Lava, the newest CPython >= 3.11 found, current torch and numpy.
$(CORE_STAMP): pyproject.toml
	@set -euo pipefail; \
	py=$$(scripts/find_python_core.sh); \
	want=$$("$$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	if [ ! -x "$(CORE_PY)" ] || [ "$$("$(CORE_PY)" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$$want" ]; then \
	  echo "creating $(CORE_VENV) with $$py"; rm -rf "$(CORE_VENV)"; "$$py" -m venv "$(CORE_VENV)"; \
	fi; \
	"$(CORE_PY)" -m pip install -q --upgrade "pip>=25.1" 2>&1 | { grep -v $(PIP_NOISE) >&2 || true; }; \
	"$(CORE_PY)" -m pip install -q -e ".[interop]" --group test 2>&1 | { grep -v $(PIP_NOISE) >&2 || true; }; \
	"$(CORE_PY)" -c "import lava_ff, nir, torch, numpy; print('core:', 'Python', '.'.join(map(str, __import__('sys').version_info[:3])), 'torch', torch.__version__, 'numpy', numpy.__version__)"; \
	touch "$(CORE_STAMP)"

demo: venv
	$(VENV)/bin/lava-ff demo --out $(OUT) $(if $(DATA),--data $(DATA),)

test: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# every test that needs no Lava, in .venv-core (the Lava tests are skipped there, with the reason)
test-core: venv-core
	$(CORE_VENV)/bin/pytest $(PYTEST_ARGS)

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
	rm -rf $(VENV) $(CORE_VENV)
