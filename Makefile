# Two commands do all setup on a fresh machine:
#   make run    - install, then serve the chat over corpus/ at http://127.0.0.1:7860
#   make test   - install (with test tools and Chromium), then run the tests offline
#   make bench  - the benchmark (docs/benchmarks.md): 25-45 min on 2 cores (machine-dependent)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: setup run test bench browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build first: otherwise a dependency may pull a multi-GB CUDA torch.
	$(PY) -m pip install --quiet torch==2.13.0
	# The versions the tests last passed with (constraints.txt), not whatever came out since.
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	rm -f $(VENV)/.installed-*
	touch $@

run: setup
	$(PY) app.py

# Debian's Chromium for the browser test (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will be skipped"; \
	  else echo "note: chromium not installed; the browser test will be skipped"; fi; }

# Lint, format and type checks first (ruff, mypy; settings in pyproject.toml), then the tests, with the
# network cut off where the kernel allows it: nothing may reach out.
LINTED := ingest bot bench tests app.py
test: setup browser
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy --no-error-summary
	@if unshare --net true 2>/dev/null; then \
	  echo "running tests with no network (unshare --net)"; \
	  unshare --net sh -c 'ip link set lo up 2>/dev/null; exec $(PY) -m pytest $(PYTEST_ARGS)'; \
	else $(PY) -m pytest $(PYTEST_ARGS); fi

# BENCH_ARGS="--write" also rewrites the tables of docs/benchmarks.md with this run's.
bench: setup
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) test-output .pytest_cache bench-results
