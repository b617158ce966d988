# Everything works on a fresh machine: the venvs are created on first use and
# re-installed only when pyproject.toml changes (stamp file inside each venv).

VENV      := .venv
VENV_DJ52 := .venv-dj52

.PHONY: demo test load lint bench clean

demo: $(VENV)/.installed
	$(VENV)/bin/python example_project/manage.py demo

test: $(VENV)/.installed $(VENV_DJ52)/.installed
	scripts/test.sh $(PYTEST_ARGS)

# 50 users with a WebSocket and a nested canvas each, on 3 workers: a few minutes.
load: $(VENV)/.installed
	bash -c 'source scripts/services.sh && $(VENV)/bin/python -m pytest -m load -s'

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The benchmarks of bench/README.md (about 15 minutes; they flush Redis db 8 and recreate bench_* databases).
bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench all
	$(VENV)/bin/python -m bench.widget

clean:
	rm -rf $(VENV) $(VENV_DJ52) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* \
		build dist *.egg-info test-artifacts node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Newest Django on Python 3.12.
$(VENV)/.installed: pyproject.toml
	scripts/venv.sh $(VENV) 3.12

# Django 5.2 on Python 3.11, with django-user-tasks (which supports Django up to 5.2) for the import tests.
$(VENV_DJ52)/.installed: pyproject.toml
	scripts/venv.sh $(VENV_DJ52) 3.11 "Django>=5.2,<5.3" "django-user-tasks==4.0.0"
