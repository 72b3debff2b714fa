"""A child forked ahead of its run, so that a CUDA run does not wait for
CUDA to start.

A CUDA run's child must start CUDA itself (context, cuBLAS, autograd's
device threads: 0.3-0.8 s), because the zygote may never do so (see
``accelerator.py``).  When the grader says that a run on a device is coming
(``"warm": "cuda"`` in a request), the zygote forks one child ahead: it starts
the device and waits for its request on a pipe, while the current run
executes.  The next run on that device is then handed to it instead of a
fresh fork.  Each child still serves exactly one run, so exercises stay
isolated from each other as before.

What keeps this as safe as a fresh fork:

* it is forked either between submissions (after the last one was zeroed:
  it holds nothing of anybody's) or while a submission is loaded, and then
  it is *tainted*: it serves that submission only and is killed when the
  next one arrives (memory hygiene, see ``zygote.py``);
* it is forked when no captured output of a run is in memory (the zygote
  scrubs that before it answers);
* learner code of the run beside it (same uid) cannot read or write its
  memory or file descriptors (not dumpable, ptrace refused) nor its request
  pipe (every fd is closed in a child before learner code runs); it can
  signal it, and change what the kernel keeps about it (limits with
  ``prlimit``, priority, scheduling policy, CPU affinity, I/O priority): a
  waiting child that was stopped, killed or ended, or whose attributes are no
  longer the zygote's, is not used (the run gets a fresh fork, with the same
  result);
* a child whose device did not start (learner code of the run beside it can
  take the GPU's memory) ends at once instead of waiting, so the next run is
  not told that CUDA is unusable: it gets a fresh fork, which starts the
  device once the run before has ended;
* the zygote reaps it only through ``Warm.reaped``, so its pid, spared by the
  clean-up after other runs, cannot be taken by another process meanwhile.
"""

from __future__ import annotations

import functools
import os
import select
import signal
import time
from dataclasses import dataclass, field

from . import framing, kernel_state, processes, runner

HANDOVER_TIMEOUT = 10.0  # seconds to write a request into a waiting child's pipe


@dataclass
class Warm:
    pid: int
    device: str
    memory: int
    tainted: bool  # forked while a submission was loaded
    control: int  # write end of its request pipe
    fds: tuple[int, int, int]  # read ends: result, output, watchdog
    pidfd: int | None = None
    ended: bool = field(default=False)

    def fits(self, request: dict) -> bool:
        if self.ended or request.get("device") != self.device:
            return False
        if int(request["limits"]["memory"]) != self.memory:
            return False
        # a CPU child hides the GPUs: not for the probes that count them
        return self.device.startswith("cuda") or not request.get("real_gpus")

    def waiting(self) -> bool:
        """Still there, not stopped (a learner process may have signalled it)
        and with the zygote's own limits, priority, affinity and scheduling
        (a learner process may have changed them: the child could not raise a
        lowered hard limit again).  Asked when no learner process is left."""
        if self.ended:
            return False
        if self.pidfd is not None:
            ready, _, _ = select.select([self.pidfd], [], [], 0)
            if ready:
                return False
        if processes.status(self.pid) in processes.GONE | processes.STOPPED:
            return False
        try:
            return kernel_state.attributes(self.pid) == kernel_state.own_attributes()
        except OSError:
            return False

    def hand_over(self, request: dict, inputs: bytearray, workdir: str) -> bool:
        """Send the run's request; False (and the child is no use) if it
        cannot be delivered in time.  The inputs are written from the
        zygote's own buffer (no copy of them is left here)."""
        head = framing.encode_head({"request": request, "workdir": workdir}, len(inputs))
        queue = [memoryview(head), memoryview(inputs)]
        deadline = time.monotonic() + HANDOVER_TIMEOUT
        try:
            while queue:
                if not queue[0]:
                    queue.pop(0).release()
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                _, ready, _ = select.select([], [self.control], [], left)
                if not ready:
                    continue
                try:
                    n = os.write(self.control, queue[0])
                except BlockingIOError:
                    continue
                rest = queue[0][n:]
                queue[0].release()
                queue[0] = rest
            return True
        except OSError:
            return False
        finally:
            for view in queue:
                view.release()
            os.close(self.control)
            self.control = -1

    def reaped(self, pid: int) -> bool:
        """The zygote reaped ``pid``: True if it was this child."""
        if pid == self.pid:
            self.ended = True
        return self.ended

    def discard(self) -> None:
        """Kill it, reap it and close its pipes."""
        if not self.ended:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.ended = True
        self.close_fds()

    def close_fds(self) -> None:
        for fd in (self.control, *self.fds, self.pidfd):
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.control, self.fds, self.pidfd = -1, (-1, -1, -1), None


def fork(device: str, memory: int, tainted: bool) -> Warm | None:
    """Fork a child that starts ``device`` and waits; None if it cannot be."""
    try:
        pipes = [os.pipe() for _ in range(4)]  # control, result, output, watchdog
    except OSError:
        return None
    (ctl_r, ctl_w), (res_r, res_w), (out_r, out_w), (dog_r, dog_w) = pipes
    try:
        pid = processes.spawn(
            functools.partial(runner.warm_child_main, device, memory),
            (ctl_r, res_w, out_w, dog_w),
            (ctl_w, res_r, out_r, dog_r),
        )
    except OSError:
        for fd in (fd for pair in pipes for fd in pair):
            os.close(fd)
        return None
    os.set_blocking(ctl_w, False)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    return Warm(
        pid=pid,
        device=device,
        memory=memory,
        tainted=tainted,
        control=ctl_w,
        fds=(res_r, out_r, dog_r),
        pidfd=pidfd,
    )
