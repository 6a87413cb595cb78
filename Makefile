# `make demo` and `make test` work on a fresh machine with only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
BASE   := $(VENV)/.installed-base
NBSTAMP := $(VENV)/.installed-notebook

.PHONY: install demo test bench bench-quick notebook clean

# PyTorch (for the `gp` strategy) is pinned to a CPU build first, so that the `gp` extra's
# range is already satisfied and pip does not fetch a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '$(TORCH)'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,gp]'
	@touch $(STAMP)

# The demo and the README's next commands (report, compare, dashboard) need only tunekit itself.
$(BASE): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $(BASE)

# The notebook needs Jupyter's kernel and nbconvert (the `notebook` extra).
$(NBSTAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[notebook]'
	@touch $(NBSTAMP)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/tunekit run studies/digits.py --strategy tpe --trials 8

# The tests, then every example in tunekit's docstrings (doctests), in two pytest-xdist worker
# processes (TEST_WORKERS=0 runs them in this one). loadgroup: each test goes to whichever worker
# is free, except that the tests sharing a module or session fixture of the suite (a Dask cluster,
# a browser, a study trained once) form one group on one worker, so that the fixture starts once
# (tests/conftest.py adds the xdist_group marks, and hands out the slow tests first). Per file
# (loadfile) one worker was left alone with a long file at the end. Standard: under 10 minutes on
# 2 idle cores, no test over 60 s (--durations=15 lists the slowest). Bytecode is cached even where
# the environment says PYTHONDONTWRITEBYTECODE=1 (this machine's does): without the cache each worker
# rewrites and compiles every test module again (collection 24.6 against 16.0 CPU s a worker here); the
# tunekit processes the tests start gain little (importing tunekit: 1.45 against 1.25 CPU s).
TEST_WORKERS ?= 2
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15 tests tunekit --doctest-modules

# Execute the quick-start notebook and write it, plots inline, to notebooks/quickstart.html.
# The classic template keeps each plot's alt text; the kernel talks over IPC, not plain TCP.
NBFLAGS := --template classic --KernelManager.transport=ipc
notebook: $(NBSTAMP)
	cd notebooks && ../$(BIN)/jupyter nbconvert --to html --execute quickstart.ipynb $(NBFLAGS) --output quickstart.html

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
