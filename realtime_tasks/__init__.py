"""Live status of users' Celery tasks, for nested chains, groups and chords."""
