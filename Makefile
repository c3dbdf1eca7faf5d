# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test docs lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	# CPU wheel of torch first: an unpinned torch would pull a multi-GB CUDA build.
	# The gpu extra (Triton) installs on any machine: its kernels are tested under TRITON_INTERPRET=1.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,notebook,ray,tianshou,docs,gpu]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/workbench thz spectrum --gap 5nm --thickness 100nm --side 100um --period 200um \
		--fmin 0.05THz --fmax 0.5THz --points 256 --plot runs/demo/spectrum.png
	$(BIN)/workbench search thz --target 0.2THz --steps 50000 --seed 0

test: $(STAMP)
	# One BLAS thread: the FE reference and small NumPy solves slow down up to 50x with oversubscribed OpenBLAS.
	# tests/test_notebooks.py executes every notebook in a kernel (WORKBENCH_FAST=1) and checks its figures.
	OPENBLAS_NUM_THREADS=1 WORKBENCH_FAST=1 $(BIN)/python -m pytest -q tests

docs: $(STAMP)
	# The site (docs/ → site/): model pages, guides and the API reference from the docstrings; warnings fail.
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check analytic envs workbench tests examples docs

bench: $(STAMP)
	$(BIN)/workbench bench thz

clean:
	rm -rf $(VENV) runs site .pytest_cache
