"""The assignments bundled with the grader, one package each (see grader/assignment.py)."""
