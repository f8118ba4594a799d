"""Benchmarks of the reference implementations: what each method costs (`cost`), and the typed result files."""
