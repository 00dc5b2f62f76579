"""Benchmarks and measurements (run as scripts: .venv/bin/python bench/<name>.py); a package so the
tests can import the scenarios they share with it (bench/scenarios) and bench/code_shape.py."""
