"""What the grader knows about layers.py: spec, probe, checks (see grader/assignment.py)."""
