"""Rapport's core: plain Python that never imports discord (the sandbox aside)."""
