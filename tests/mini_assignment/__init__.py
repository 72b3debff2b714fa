"""A second, small assignment (lecture 2: functions on tensors) that the same
grader core grades: proof that the core names no exercise of its own.

Two exercise files, one exercise each: ``activations.py`` (``relu``) and
``losses.py`` (``mse``); ``solutions/``, ``exercises/`` (stubs) and
``buggy/`` hold submissions.  See tests/test_assignment.py."""
