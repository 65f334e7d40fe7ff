# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-all baseline bench clean screenshots

demo: $(VENV)/.installed
	$(VENV)/bin/panopticon run china-2018 --overwrite

# The suite on TEST_WORKERS processes (pytest-xdist), a test file each at a time, so that a
# file's fixtures are made once; a kernel that one compiles the others wait for and load
# (panopticon.kernel_cache). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile

test: $(VENV)/.installed-test
	$(PY) -m pytest $(XDIST)

test-all: $(VENV)/.installed-test
	$(PY) -m pytest $(XDIST) -m "slow or not slow"

# The dashboard's screenshots and measured times in docs/dashboard/, from its browser test.
screenshots: $(VENV)/.installed-test
	PANOPTICON_SCREENSHOTS=docs/dashboard $(PY) -m pytest tests/test_dashboard_browser.py

# Rewrite tests/baseline/baseline.json on purpose: commit it with the change that moved results
# and say why in the message (docs/baseline.md).
baseline: $(VENV)/.installed
	$(PY) -m panopticon.readers.baseline pin

# The reference model against its peers, then the full model (runs/bench/full_model.json);
# BENCH_AGAINST=REV adds the full model of commit REV beside this one (docs/performance.md).
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/reference_model.py
	$(PY) benchmarks/full_model.py $(if $(BENCH_AGAINST),--against $(BENCH_AGAINST))

# docs/reference.md, generated from the scenario models, and the table of one simulated day in
# docs/architecture.md, from the stages' declarations (tests fail when either is out of date).
.PHONY: reference
reference: $(VENV)/.installed
	$(PY) -m panopticon schema --markdown > docs/reference.md.tmp || { rm -f docs/reference.md.tmp; exit 1; }
	mv docs/reference.md.tmp docs/reference.md
	$(PY) -m panopticon.runner.contract docs/architecture.md

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e .
	touch $@

# The tests install the Ray extra too: they check that a study on Ray gives the local files.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test,ray]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[bench,test]"
	touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
