"""What the grader knows about initializers.py: spec, probe, checks (see grader/assignment.py)."""
