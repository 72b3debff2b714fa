"""What crosses the sandbox boundary: one definition of each name that both
sides use (the child writes them, the grader reads them).

Step labels have their own module (``steps``); the frame format is
``framing``'s.  The supervisor (``supervision.py``) takes its ``stopped``
reasons and the ``cpu_limit`` it reports from here.
"""

from __future__ import annotations

# -- how a child ends, besides 0 -----------------------------------------------------
EXIT_INTERNAL = 70  # the probe or the recorder failed (not a learner step)
EXIT_MEMORY = 71  # ... because memory ran out outside a learner step
EXIT_NO_CUDA = 72  # the child could not start CUDA (the grader's set-up is at fault)
NO_CUDA_PREFIX = "CUDA is not usable in the sandbox: "


def cpu_limits(time_limit: float) -> tuple[int, int]:
    """RLIMIT_CPU of a child with wall-clock limit ``time_limit``: SIGXCPU at
    the soft limit, SIGKILL a second later at the hard one."""
    soft = int(float(time_limit)) + 1
    return soft, soft + 1


# -- frames the recorder writes ----------------------------------------------------------
FRAME_STEP = "step"
FRAME_RESULT = "result"
FRAME_RESULT_HEADER = "result_header"

# -- steps and observation keys the generic code reads ------------------------------------
STEP_IMPORT = "import"  # importing the learner's module
SETUP_STEPS = ("construct", "lookup")  # building the object (or finding the function) under test
STEP_TO_DEVICE = "to_device"  # net.to(device)
STEP_DEVICE_AUDIT = "device_audit"  # the CPU run's search for tensors stranded on the CPU
KEY_DEVICE_AUDIT = "device_audit"
KEY_PARAM_DEVICES = "to_device.param_devices"
KEY_BUFFER_DEVICES = "to_device.buffer_devices"
SUFFIX_DEVICE = ".device"  # <output>.device: where an output was
SUFFIX_INPUT_CHANGED = ".input_changed"  # <output>.input_changed: forward changed its input


class ErrorKind:
    """What an exception in a learner step was (``recorder.classify``)."""

    EXCEPTION = "exception"
    NOT_IMPLEMENTED = "not_implemented"
    MEMORY = "memory"
    EXIT = "exit"
    INTERRUPT = "interrupt"
    SYNTAX = "syntax"


class Stopped:
    """Why the supervisor stopped a run (the zygote's reply, ``stopped``)."""

    TIMEOUT = "timeout"
    OUTPUT_LIMIT = "output_limit"
    PROCESS_LIMIT = "process_limit"
    RESULT_LIMIT = "result_limit"


class Problem:
    """Why a run gave no usable observations (``Observation.problem["kind"]``)."""

    TIMEOUT = Stopped.TIMEOUT
    OUTPUT_LIMIT = Stopped.OUTPUT_LIMIT
    PROCESS_LIMIT = Stopped.PROCESS_LIMIT
    RESULT_LIMIT = Stopped.RESULT_LIMIT
    CPU_TIME = "cpu_time"
    MEMORY = "memory"
    FILE_SIZE = "file_size"
    CRASH = "crash"
    KILLED = "killed"
    EXIT = "exit"
    PROTOCOL = "protocol"
    LEFTOVER_PROCESSES = "leftover_processes"
    SANDBOX = "sandbox"
    SANDBOX_DIED = "sandbox_died"
    CUDA_UNAVAILABLE = "cuda_unavailable"
    MISSING_FILE = "missing_file"
    SKIPPED_AFTER = "skipped_after"
