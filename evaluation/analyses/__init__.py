"""Analyses of benchmark runs that no leaderboard we know reports, one module each.

Plain Python (numpy, scipy, Pillow), no Django and no project app, so the Celery tasks and the boards built on
top can call them and the tests need no database. Bad input raises `ValueError` with a sentence a person
understands; the callers in the Django layers turn it into `InvalidInput`.
"""
