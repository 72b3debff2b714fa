"""The course service: ``grade serve``, ``grade roster``, ``grade submit``.

Learners upload over HTTP; the server stores each upload (files, hash, time,
learner) in its data folder and its database, acknowledges it with an id, and
workers grade it with the same code path as the command line (a warm sandbox
per worker, ``grader.grading.grade_or_error``, ``grader.batch.save``).

Modules: ``models`` (tables), ``database`` (engine, migrations), ``tokens``
(personal links, hashed), ``uploads`` (checks on what is uploaded),
``store`` (submissions on disk and in the database), ``claims`` (the queue:
atomic claims with leases), ``worker`` (the grading loop), ``gradebook``,
``web`` (the JSON API and pages), ``serve`` (the process that runs them),
``roster`` and ``client`` (``grade submit``).
"""
