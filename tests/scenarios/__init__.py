"""Scenarios: whole flows across processes and services (daphne, Redis, PostgreSQL, moto, a real browser), outages,
load and benchmarks. Slower; several run in one of CI's two passes only (each file says which)."""
