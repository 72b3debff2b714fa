"""Hostile: try_gpu looks for privileges to abuse (capabilities, setuid, a way to
gain them by executing a program) and raises if it finds any; otherwise it is
correct. It must find none, with or without bubblewrap (also as root)."""

import subprocess
import sys

import torch


def _privileges(status_text):
    fields = dict(line.split(":", 1) for line in status_text.splitlines() if ":" in line)
    found = []
    for key in ("CapEff", "CapPrm", "CapAmb"):
        if int(fields.get(key, "0").strip() or "0", 16):
            found.append(f"{key}={fields[key].strip()}")
    if fields.get("NoNewPrivs", "0").strip() != "1":
        found.append("no_new_privs is off")
    return found


def _check_privileges():
    if getattr(_check_privileges, "done", False):
        return
    _check_privileges.done = True
    found = _privileges(open("/proc/self/status").read())
    # in a fresh single-threaded process: its capabilities, and whether it can change uid
    probe = ("import os\n"
             "print(open('/proc/self/status').read())\n"
             "try:\n"
             "    os.setuid(0 if os.getuid() else 1)\n"
             "    print('Setuid: worked')\n"
             "except OSError:\n"
             "    pass\n")
    child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=30).stdout
    found += [f"after exec: {f}" for f in _privileges(child)]
    if "Setuid: worked" in child:
        found.append("setuid worked")
    if found:
        raise PermissionError("privileges found: " + ", ".join(found))


def try_gpu(i: int = 0) -> torch.device:
    """ES: cuda:i si existe, si no cpu. / EN: cuda:i if it exists, else cpu."""
    _check_privileges()
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """ES: Todas las GPU, o [cpu]. / EN: Every GPU, or [cpu]."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices or [torch.device("cpu")]
