"""The load benchmarks, one module each, run against a bench stack (bench/stack.py) by bench/run.py.

Each module has `run(target, **options) -> dict` (its figures) and a command line:
`.venv/bin/python -m bench.load.votes --duration 10 [--stack-file .data/bench/stack.json]`.
"""
