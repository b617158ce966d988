"""Benchmarks of django-realtime-tasks beside plain Celery, django-user-tasks and a polling page.

Run ``python -m bench --help``; bench/README.md says what each benchmark measures. This package is imported
in several virtualenvs (the project's and django-user-tasks'), so nothing is imported here.
"""
