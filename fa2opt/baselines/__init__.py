"""Baseline methods: the same interface and answer type as ``fa2`` and ``milp``."""
