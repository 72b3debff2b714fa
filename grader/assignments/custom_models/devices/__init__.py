"""What the grader knows about devices.py: spec, probe, checks (see grader/assignment.py)."""
