# Everything works on a fresh machine: the venvs are created on first use and
# re-installed only when pyproject.toml changes (stamp file inside each venv).

VENV      := .venv
VENV_DJ52 := .venv-dj52
VENV_DJ60 := .venv-dj60

.PHONY: demo test load lint docs bench clean screenshots

demo: $(VENV)/.installed
	$(VENV)/bin/python example_project/manage.py demo

test: $(VENV)/.installed $(VENV_DJ52)/.installed $(VENV_DJ60)/.installed
	scripts/test.sh $(PYTEST_ARGS)

# 50 users with a WebSocket and a nested canvas each, on 3 workers: a few minutes.
load: $(VENV)/.installed
	bash -c 'source scripts/services.sh && $(VENV)/bin/python -m pytest -m load -s'

# 10,000 generated frames to the consumer and 10,000 requests to each JSON API; reports the counts (a few minutes).
fuzz: $(VENV)/.installed
	bash -c 'source scripts/services.sh && $(VENV)/bin/python -m tests.fuzz $(FUZZ_ARGS)'

# The README's screenshots (docs/screenshot-*.png), taken in Chromium by the test suite.
screenshots: $(VENV)/.installed
	bash -c 'source scripts/services.sh && REALTIME_TASKS_UPDATE_SCREENSHOTS=1 $(VENV)/bin/python -m pytest tests/test_browser_admin_demo.py -k screenshots'

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The documentation site, to docs/_build/html; any warning fails it. -E: read every page again, since an
# incremental build does not repeat the warnings of pages it does not rebuild.
docs: $(VENV)/.installed
	$(VENV)/bin/python -m sphinx -E -W --keep-going -n -q -b html docs docs/_build/html

# The benchmarks of bench/README.md (about 15 minutes; they flush Redis db 8 and recreate bench_* databases).
bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench all
	$(VENV)/bin/python -m bench.widget

clean:
	rm -rf $(VENV) $(VENV_DJ52) $(VENV_DJ60) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* \
		docs/_build build dist *.egg-info test-artifacts node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The tested matrix, one venv each (the classifiers in pyproject.toml name exactly these):
# Django 6.1 on Python 3.12 runs everything; 5.2 on 3.11 and 6.0 on 3.13 run the `core` tests.
$(VENV)/.installed: pyproject.toml
	scripts/venv.sh $(VENV) 3.12 "Django>=6.1,<6.2"

# Django 5.2 on Python 3.11, with django-user-tasks (which supports Django up to 5.2) for the import tests.
$(VENV_DJ52)/.installed: pyproject.toml
	scripts/venv.sh $(VENV_DJ52) 3.11 "Django>=5.2,<5.3" "django-user-tasks==4.0.0"

# Django 6.0 on Python 3.13.
$(VENV_DJ60)/.installed: pyproject.toml
	scripts/venv.sh $(VENV_DJ60) 3.13 "Django>=6.0,<6.1"
