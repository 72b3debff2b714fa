"""What the grader knows about blocks.py: spec, probe, checks (see grader/assignment.py)."""
