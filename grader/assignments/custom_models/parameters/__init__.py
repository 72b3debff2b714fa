"""What the grader knows about parameters.py: spec, probe, checks (see grader/assignment.py)."""
