"""What the grader knows about storage.py: spec, probe, checks (see grader/assignment.py)."""
