#!/usr/bin/env bash
# Run every check: lint, type check, the docs build, the whole suite on Django 6.1 and Python 3.12
# (.venv), the `core` tests on Django 5.2 and Python 3.11 (.venv-dj52) and on Django 6.0 and
# Python 3.13 (.venv-dj60), and the npm tests if there are any.
# The Makefile creates the venvs first. Extra arguments go to every pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/services.sh

echo ">>> ruff check"
.venv/bin/ruff check .
echo ">>> ruff format --check"
.venv/bin/ruff format --check .
echo ">>> mypy"
.venv/bin/mypy

echo ">>> docs (Sphinx, warnings are errors)"
make --no-print-directory docs

echo ">>> pytest (.venv, Django 6.1, Python 3.12, PostgreSQL: whole suite)"
.venv/bin/python -m pytest --cov=realtime_tasks --cov-branch --cov-report=term-missing:skip-covered "$@"

echo ">>> pytest -m core (.venv-dj52, Django 5.2, Python 3.11, SQLite)"
DATABASE_URL="sqlite:///$PWD/test-artifacts/core.sqlite3" .venv-dj52/bin/python -m pytest -m core "$@"

echo ">>> pytest -m core (.venv-dj60, Django 6.0, Python 3.13, PostgreSQL)"
.venv-dj60/bin/python -m pytest -m core "$@"

echo ">>> fuzz, a short run (make fuzz runs 10,000 of each)"
.venv/bin/python -m tests.fuzz --frames 1000 --requests 1000

echo ">>> benchmarks, once each in quick mode (proves they still run; no figure is judged)"
.venv/bin/python -m bench all --quick
.venv/bin/python -m bench.widget --quick
.venv/bin/python -m bench.batch --quick

if [[ -f package.json ]] && node -e 'process.exit(require("./package.json").scripts?.test ? 0 : 1)'; then
    # Not `npm ci`: the registry here lacks some of rollup's optional platform packages, so the lock
    # file leaves them out and `npm ci` refuses it; `npm install` reproduces the lock as it is.
    npm install --no-audit --no-fund
    npm test
fi
