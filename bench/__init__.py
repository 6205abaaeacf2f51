"""Benchmarks: ``make bench`` runs them all; each runs its baseline in the same invocation.

Run one with ``.venv/bin/python -m bench.<name> --help`` for its options.
"""
