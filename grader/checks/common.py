"""Helpers for the check modules of every exercise folder."""

from __future__ import annotations

import functools

import torch

from .. import assignment
from ..child.protocol import (
    KEY_BUFFER_DEVICES,
    KEY_DEVICE_AUDIT,
    KEY_PARAM_DEVICES,
    STEP_DEVICE_AUDIT,
    STEP_TO_DEVICE,
    SUFFIX_DEVICE,
)
from ..feedback import fail, require, value
from ..i18n import N_, _
from ..observations import Observation


@functools.cache
def inputs(exercise: str) -> dict[str, torch.Tensor]:
    """The tensors the grader sent to the probe of ``exercise`` (built once)."""
    return assignment.exercise(exercise).inputs()


def params_from(o: Observation, prefix: str, names: list[str], what: str) -> dict:
    """Tensors recorded under ``prefix + name``; fail naming the first missing one."""
    found = {}
    for name in names:
        t = o.tensors.get(prefix + name)
        if t is None:
            fail(
                _("{what}: the module has no parameter called {name}").format(what=what, name=name)
            )
        found[name] = t
    return found


def has_params(desc: dict) -> bool:
    return bool(desc.get("own_params")) or any(has_params(c) for _, c in desc.get("children", []))


def linear_desc(desc: dict, n_in: int, n_out: int) -> bool:
    return (
        bool(desc.get("is_linear"))
        and desc.get("in") == n_in
        and desc.get("out") == n_out
        and desc.get("bias", True)
    )


def fmt_linear(desc: dict) -> str:
    if desc.get("is_linear"):
        return f"Linear({desc.get('in')}, {desc.get('out')})"
    return desc.get("type", "?").rsplit(".", 1)[-1]


DEVICE_HINT = N_(
    "Keep constant tensors with register_buffer and create tensors in forward "
    "with device=X.device (or torch.zeros_like, X.new_zeros), so that the model "
    "works wherever .to(device) puts it."
)
DEVICE_HINT_CREATED = N_(
    "Create tensors in forward on the input's device: device=X.device, "
    "torch.zeros_like(X) or X.new_zeros(...); never .cpu() or "
    'device="cpu" inside forward.'
)
DEVICE_TITLE = N_("Moves to a device with .to(device) and runs there")


def device_check(o: Observation) -> None:
    """CPU: the stranded-tensor audit.  Another device: everything moved
    (except the outputs the exercise's ``device_exempt`` leaves to other checks)."""
    if o.device == "cpu":
        audit = value(o, KEY_DEVICE_AUDIT, step=STEP_DEVICE_AUDIT, kind=dict)
        finding = audit.get("finding")
        if not finding:
            return
        created = finding.get("created") or {}
        used = finding.get("used") or {}
        if created.get("what") == "attribute":
            fail(
                _(
                    "`{name}` is a plain tensor attribute: it will stay on the CPU when the model "
                    "moves to the GPU, and forward will fail there; use register_buffer"
                ).format(name=created.get("attribute", "?"))
            )
        frames = created.get("frames") or used.get("frames") or []
        where = frames[-1] if frames else {"file": "?", "line": "?"}
        if created.get("what") == "unregistered_parameter":
            fail(
                _(
                    "forward at {file}, line {line} uses a parameter of a submodule that is not "
                    "registered (kept in a plain list, dict or other container): .to(device) "
                    "does not move it, so forward fails on the GPU; use nn.ModuleList, "
                    "nn.ModuleDict or add_module"
                ).format(file=where.get("file"), line=where.get("line"))
            )
        if created.get("what") == "foreign":
            fail(
                _(
                    "forward at {file}, line {line} uses a tensor that is neither a parameter, a "
                    "buffer nor computed from the input (a module-level or class-level constant, "
                    "or an unregistered attribute): it stays on the CPU when the model moves to "
                    "the GPU, and forward fails there. Register it with register_buffer, or "
                    "create it in forward with device=X.device"
                ).format(file=where.get("file"), line=where.get("line"))
            )
        if created.get("what") in ("cpu_literal", "cpu()"):
            fail(
                _(
                    "forward at {file}, line {line} puts a tensor on the CPU explicitly "
                    "(`{code}`): when the model and its input are on a GPU, that tensor stays on "
                    "the CPU and forward fails (or returns its output on the wrong device). Use "
                    "the input's device instead: device=X.device, X.new_zeros, torch.zeros_like, "
                    'and no .cpu() / .to("cpu") inside forward'
                ).format(
                    file=where.get("file"),
                    line=where.get("line"),
                    code=str(where.get("code", "")).strip()[:120],
                )
            )
        fail(
            _(
                "a tensor created in forward with torch.{func}() at {file}, line {line} lives on "
                "the CPU whatever device the input is on: on a GPU, forward fails. Create it with "
                "device=X.device (or torch.zeros_like / X.new_zeros)"
            ).format(func=created.get("what", "?"), file=where.get("file"), line=where.get("line"))
        )
    require(o, STEP_TO_DEVICE)
    devices = value(o, KEY_PARAM_DEVICES, kind=list)
    buffers = o.values.get(KEY_BUFFER_DEVICES, [])
    stray = [d for d in list(devices) + list(buffers) if d != o.device]
    if stray:
        fail(
            _("after .to({device}) some parameters or buffers are still on {stray}").format(
                device=o.device, stray=", ".join(sorted(set(map(str, stray))))
            )
        )
    exempt = assignment.exercise(o.exercise).device_exempt
    for key, dev in o.values.items():
        if (
            key.endswith(SUFFIX_DEVICE)
            and isinstance(dev, str)
            and dev != o.device
            and key.removesuffix(SUFFIX_DEVICE) not in exempt
        ):
            fail(
                _("the output of {step} is on {dev}, expected {device}").format(
                    step=key.removesuffix(SUFFIX_DEVICE), dev=dev, device=o.device
                )
            )
