"""Custom PyTorch models (blocks, layers, parameters, initialisers, storage, devices):
this course's assignment.  One folder per exercise file; see grader/assignment.py."""
