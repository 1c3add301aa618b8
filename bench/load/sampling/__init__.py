"""Sampling the bench stack's processes while a load runs (bench/run.py --sample); see sitecustomize.py."""
