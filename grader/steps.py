"""Step labels in the learner's language.

A probe names each step it takes in the learner's code with a short English
label ("backward through MLP", "count_parameters(nested network)").  Labels
that are plain code stay as they are; the others are recognised here and
translated, so a Spanish report says "retropropagación a través de MLP".  A
label this table does not know is shown as sent.
"""

from __future__ import annotations

import re

from .i18n import N_, _

# Names of the probes' test networks and saved objects (grader/child/fixtures.py,
# grader/child/probes/storage.py).
_NAMES = {
    "plain": N_("plain"), "nested": N_("nested"), "tied": N_("tied"),
    "frozen": N_("frozen"), "buffers": N_("buffered"),
    "linear": N_("bare nn.Linear(4, 8)"), "own": N_("own-parameter"),
    "shapes": N_("shapes"), "square": N_("square"), "repeated": N_("repeated-module"),
    "long": N_("twelve-module"),
    "tensor": N_("tensor"), "list": N_("list"), "dict": N_("dict"),
}

_LABELS: list[tuple[re.Pattern, str]] = [(re.compile(p), m) for p, m in [
    (r"^backward through (?P<model>\S+)$", N_("backward pass through {model}")),
    (r"^one SGD step on (?P<model>\S+)$", N_("one SGD step on {model}")),
    (r"^forward on CPU, looking for stranded tensors$",
     N_("forward pass on the CPU, looking for tensors that would be left on the CPU")),
    (r"^(?P<call>try_\w+\(\d*\)) with real GPU\(s\)$",
     N_("{call} with this machine's real GPUs")),
    (r"^(?P<call>try_\w+\(\d*\)) with (?P<count>\d+) GPU\(s\)$",
     N_("{call} with {count} simulated GPU(s)")),
    (r"^import devices with (?P<count>\d+) simulated GPU\(s\)$",
     N_("import devices with {count} simulated GPU(s)")),
    (r"^(?P<call>.+) on (?P<name>\w+) of shape (?P<shape>\([\d, ]*\))$",
     N_("{call} on {name} of shape {shape}")),
    (r"^(?P<call>.+) on (?P<name>\w+) (?P<shape>\([\d, ]*\))$",
     N_("{call} on {name} {shape}")),
    (r"^count_parameters\((?P<case>\w+) network\)$",
     N_("count_parameters(<{case} network>)")),
    (r"^param_shapes\((?P<case>\w+) network\)$", N_("param_shapes(<{case} network>)")),
    (r"^MySequential\(\*(?P<case>[\w-]+) chain\)$", N_("MySequential(*<{case} chain>)")),
    (r"^load_tensors\(path\) for the saved (?P<case>\w+)$",
     N_("load_tensors(path) for the saved {case}")),
    (r"^load_tensors\(a file written by torch\.save\)$",
     N_("load_tensors(<a file written by torch.save>)")),
    (r"^load_tensors\(a file holding pickled code\)$",
     N_("load_tensors(<a file holding pickled code>)")),
    (r"^load_params\(factory, a file saved from a GPU model\)$",
     N_("load_params(factory, <a file saved from a GPU model>)")),
    (r"^torch\.load\(path, weights_only=True\) on the file written by (?P<model>\w+)$",
     N_("torch.load(path, weights_only=True) on the file written by {model}")),
]]


def case_name(case: str) -> str:
    """A test network's or saved object's name in the current language."""
    return _(_NAMES[case]) if case in _NAMES else case


def translate(label: str) -> str:
    """The label in the current language (see ``grader.i18n``)."""
    for pattern, message in _LABELS:
        m = pattern.match(label)
        if m:
            fields = {k: case_name(v) if k == "case" else v for k, v in m.groupdict().items()}
            return _(message).format(**fields)
    return label
