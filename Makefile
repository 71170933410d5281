# The two commands that matter: `make demo` and `make test`. Both install everything first.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test lint typecheck unit test-reliability demo serve bench clean

install: $(VENV)/.installed web/dist/.built

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install -q uv
	$(UV) sync --frozen --compile-bytecode
	@$(PY) -m compileall -q src  # PYTHONDONTWRITEBYTECODE may be set: compile once here
	@touch $@

# The web console (web/): dependencies from the lock file, then the build the server
# serves at /. Each step runs again only when its inputs changed.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/.built: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	@touch $@

lint: install
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks

typecheck: install
	$(VENV)/bin/mypy

# The suites that run a second time on a real PostgreSQL server and a real S3-compatible
# server (moto's), both started on loopback by the tests: storage, hub, jobs, evaluations.
BACKED_SUITES := tests/integration/test_backends.py tests/integration/test_concurrency.py \
	tests/integration/test_large_files.py tests/integration/jobs/test_embedded.py \
	tests/integration/jobs/test_server.py tests/integration/jobs/test_shared_database.py \
	tests/integration/test_compare.py tests/integration/test_idempotency.py
# Two test processes: much of the suite waits on servers, workers and browsers.
PYTEST := $(VENV)/bin/pytest -q -n 2 --dist loadfile -p no:cacheprovider --durations=15

unit: install
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-postgres.sh
	cd web && npx vitest --run
	$(PYTEST) --ignore=tests/reliability
	TEST_DATABASE=postgresql TEST_STORAGE=s3 $(PYTEST) $(BACKED_SUITES)

# The slow proofs of issue 9 in their reduced forms (faults, 50 clients x 10 s of load, a
# 100-version soak); the full forms are benchmarks/bench_load.py and bench_soak.py (make bench).
test-reliability: install
	$(PYTEST) tests/reliability

test: lint typecheck unit test-reliability

demo: install
	bash examples/demo.sh

serve: install
	$(VENV)/bin/assay server --host 127.0.0.1 --port 8080

clean:
	rm -rf $(VENV) .demo-home .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist test-output

bench: install
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done
