"""Probes for initializers.py: one probe serves the five initialisers."""

from __future__ import annotations

import torch
from torch import nn

from . import fixtures


def initializer(rec, mod, t, device, params):
    name = params["function"]
    with rec.step("lookup", f"initializers.{name}") as s:
        fn = getattr(mod, name)
    if not s.ok:
        return
    net = fixtures.init_net()
    # the initial values come from the grader (inputs "state/..."), which
    # judges "unchanged" against what it sent
    with torch.no_grad():
        for key, value in net.state_dict().items():
            value.copy_(t[f"state/{key}"])
    weight_obj, bias_obj = net[0].weight, net[0].bias
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with rec.step("apply", f"net.apply({name})"):
        net.apply(fn)
    for key, value in net.state_dict().items():
        rec.tensor(f"after/{key}", value)
    rec.value("same_objects", net[0].weight is weight_obj and net[0].bias is bias_obj)
    rec.value("requires_grad", [bool(p.requires_grad) for p in net.parameters()])
    rec.value("is_parameter", [isinstance(p, nn.Parameter) for p in net.parameters()])
    rec.value("optimizer_sees", opt.param_groups[0]["params"][0] is net[0].weight)
    with rec.step("no_bias", f"{name}({fixtures.NO_BIAS_CODE})"):
        lin = fixtures.no_bias_linear()
        with torch.no_grad():
            lin.weight.copy_(t["no_bias/initial"])
        w = lin.weight
        fn(lin)
        rec.tensor("no_bias/weight", lin.weight)
        rec.value("no_bias/same_object", lin.weight is w)
        rec.value("no_bias/bias_is_none", lin.bias is None)
