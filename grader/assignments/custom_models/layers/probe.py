"""Probes for layers.py: centered_layer, my_linear."""

from __future__ import annotations

import torch
from torch import nn

from .. import N_, audit, forward, label, move, record_grads, record_parameters
from . import fixtures


def centered_layer(rec, mod, t, device, params):
    with rec.step("construct", "CenteredLayer()") as s:
        layer = mod.CenteredLayer()
        record_parameters(rec, "", layer)
    if not s.ok:
        return
    if not move(rec, layer, device):
        return
    for name in fixtures.CENTER_INPUTS:
        forward(
            rec,
            f"out/{name}",
            layer,
            t[name].to(device),
            label(
                N_("{call} on {name} {shape}"),
                call="CenteredLayer.forward",
                name=name,
                shape=str(tuple(t[name].shape)),
            ),
        )
    with rec.step("backward", label(N_("backward pass through {model}"), model="CenteredLayer")):
        X = t["X"].to(device).clone().requires_grad_(True)
        out = layer(X)
        (out * t["G"].to(device)).sum().backward()
        rec.value("input_grad_missing", X.grad is None)
        if X.grad is not None:
            rec.tensor("input_grad", X.grad)
    with rec.step("sequential", "nn.Sequential(nn.Linear(8, 128), CenteredLayer())"):
        first = nn.Linear(8, 128)
        with torch.no_grad():
            first.weight.copy_(t["seq/weight"])
            first.bias.copy_(t["seq/bias"])
        seq = nn.Sequential(first, mod.CenteredLayer()).to(device)
        out = seq(t["X"].to(device))
        rec.tensor("seq/out", out)
        rec.value("seq/shape", list(out.shape))
    audit(rec, mod.CenteredLayer, (t["X"],), device)


def my_linear(rec, mod, t, device, params):
    with rec.step("construct", "MyLinear(5, 3)") as s:
        layer = mod.MyLinear(5, 3)
        record_parameters(rec, "", layer)
        rec.value("weight_is_parameter", isinstance(getattr(layer, "weight", None), nn.Parameter))
        rec.value("bias_is_parameter", isinstance(getattr(layer, "bias", None), nn.Parameter))
        for attr in ("weight", "bias"):
            value = getattr(layer, attr, None)
            if isinstance(value, torch.Tensor):
                rec.tensor(f"attr/{attr}", value)
    if not s.ok:
        return
    if not move(rec, layer, device):
        return
    X = t["X"].to(device)
    forward(
        rec,
        "out",
        layer,
        X,
        label(
            N_("{call} on {name} {shape}"), call="MyLinear(5, 3).forward", name="X", shape="(6, 5)"
        ),
    )
    with rec.step("backward", label(N_("backward pass through {model}"), model="MyLinear")):
        layer.zero_grad()
        out = layer(X)
        (out * t["G"].to(device)).sum().backward()
        record_grads(rec, "", layer)
        for attr in ("weight", "bias"):
            value = getattr(layer, attr, None)
            if isinstance(value, torch.Tensor):
                rec.value(f"attr_grad_missing/{attr}", value.grad is None)
                if value.grad is not None:
                    rec.tensor(f"attr_grad/{attr}", value.grad)
    with rec.step("init", "MyLinear(128, 256)"):
        torch.manual_seed(11)
        big = mod.MyLinear(128, 256)
        rec.tensor("init/weight", getattr(big, "weight", None))
        rec.tensor("init/bias", getattr(big, "bias", None))
    with rec.step("init_wide", "MyLinear(2, 8192)"):
        # 8192 bias values: enough to tell a standard normal from look-alikes
        torch.manual_seed(12)
        wide = mod.MyLinear(2, 8192)
        rec.tensor("init_wide/bias", getattr(wide, "bias", None))
    with rec.step("sequential", "nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))"):
        torch.manual_seed(5)
        seq = nn.Sequential(mod.MyLinear(64, 8), mod.MyLinear(8, 1)).to(device)
        out = seq(t["X64"].to(device))
        rec.value("seq/shape", list(out.shape))
        rec.tensor("seq/out", out)
        for i in (0, 1):
            for attr in ("weight", "bias"):
                value = getattr(seq[i], attr, None)
                if isinstance(value, torch.Tensor):
                    rec.tensor(f"seq/{i}.{attr}", value)
    audit(rec, lambda: mod.MyLinear(5, 3), (t["X"],), device)
