"""Reproducibility: what differs between two runs, and running a run again."""
