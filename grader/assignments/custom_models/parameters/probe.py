"""Probes for parameters.py: nested_blocks, parameter_access, tied_parameters."""

from __future__ import annotations

import torch
from torch import nn

from .. import N_, audit, describe, forward, label, move, record_grads, record_state
from . import fixtures


def nested_blocks(rec, mod, t, device, params):
    with rec.step("block1", "block1()"):
        rec.value("block1", describe(mod.block1()))
    with rec.step("block2", "block2()"):
        b2 = mod.block2()
        rec.value("block2", describe(b2))
        kids = [c for _, c in b2.named_children()]
        rec.value("block2.distinct", len({id(c) for c in kids}))
        rec.value("block2.count", len(kids))
    with rec.step("rgnet", "rgnet()") as s:
        net = mod.rgnet()
        rec.value("rgnet", describe(net))
        rec.value("rgnet.numel", sum(p.numel() for p in net.parameters()))
        record_state(rec, "", net)
    if not s.ok:
        return
    with rec.step("nested_access", 'rgnet()[0].get_submodule("block 1")[0].bias'):
        bias = net[0].get_submodule("block 1")[0].bias
        rec.value("nested_access.shape", list(bias.shape))
        rec.tensor("nested_access", bias)
    if not move(rec, net, device):
        return
    forward(
        rec,
        "out",
        net,
        t["X"].to(device),
        label(N_("{call} on {name} {shape}"), call="rgnet()(X)", name="X", shape="(3, 4)"),
    )
    audit(rec, mod.rgnet, (t["X"],), device)


def parameter_access(rec, mod, t, device, params):
    for case, make in fixtures.PARAMETER_CASES.items():
        with rec.step(
            f"count/{case}",
            label(N_("count_parameters(<{case} network>)"), case=label(fixtures.CASE_NAMES[case])),
        ):
            value = mod.count_parameters(make())
            rec.value(
                f"count/{case}",
                {
                    "type": type(value).__name__,
                    "value": value
                    if isinstance(value, (int, float))
                    else (
                        value.item()
                        if isinstance(value, torch.Tensor) and value.numel() == 1
                        else str(value)[:200]
                    ),
                },
            )
        with rec.step(
            f"shapes/{case}",
            label(N_("param_shapes(<{case} network>)"), case=label(fixtures.CASE_NAMES[case])),
        ):
            shapes = mod.param_shapes(make())
            rec.value(f"shapes/{case}", _describe_shapes(shapes))


def _describe_shapes(shapes) -> dict:
    if not isinstance(shapes, dict):
        return {"type": type(shapes).__name__, "items": None}
    items = []
    for key, value in shapes.items():
        # torch.Size is a tuple of ints (a subclass): equal to tuple(p.shape)
        is_tuple = isinstance(value, tuple)
        ints = is_tuple and all(type(v) is int for v in value)
        try:
            as_list = [int(v) for v in value]
        except (TypeError, ValueError):
            as_list = None
        items.append(
            {
                "key": str(key),
                "key_type": type(key).__name__,
                "value_type": type(value).__name__,
                "is_tuple": bool(is_tuple),
                "ints": bool(ints),
                "shape": as_list,
            }
        )
    return {"type": "dict", "items": items}


def tied_parameters(rec, mod, t, device, params):
    with rec.step("construct", "tied_net()") as s:
        net = mod.tied_net()
        rec.value("structure", describe(net))
        rec.value("n_parameters", len(list(net.parameters())))
        rec.value("weight_is", net[2].weight is net[4].weight)
        rec.value("bias_is", net[2].bias is net[4].bias)
        rec.value("module_is", net[2] is net[4])
        record_state(rec, "", net)
    if not s.ok:
        return
    with rec.step("change", "net[2].weight[0, 0] = 100; read net[4].weight[0, 0]"):
        other = mod.tied_net()
        with torch.no_grad():
            other[2].weight[0, 0] = 100.0
        rec.value("change_seen", float(other[4].weight[0, 0].detach()))
    if not move(rec, net, device):
        return
    forward(
        rec,
        "out",
        net,
        t["X"].to(device),
        label(N_("{call} on {name} {shape}"), call="tied_net()(X)", name="X", shape="(5, 4)"),
    )
    with rec.step("backward", label(N_("backward pass through {model}"), model="tied_net()")):
        net.zero_grad()
        out = net(t["X"].to(device))
        (out * t["G"].to(device)).sum().backward()
        record_grads(rec, "", net)
        g = net[2].weight.grad
        if g is not None:
            rec.tensor("shared_grad", g)
        rec.value("shared_grad_missing", g is None)
    audit(rec, mod.tied_net, (t["X"],), device)


__all__ = ["nn"]
