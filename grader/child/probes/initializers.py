"""Probes for initializers.py: one probe serves the five initialisers."""

from __future__ import annotations

import torch
from torch import nn

from .. import fixtures
from . import probe


@probe("initializer")
def initializer(rec, mod, t, device, params):
    name = params["function"]
    with rec.step("lookup", f"initializers.{name}") as s:
        fn = getattr(mod, name)
    if not s.ok:
        return
    torch.manual_seed(int(params.get("seed", 0)))
    net = fixtures.init_net()
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    weight_obj, bias_obj = net[0].weight, net[0].bias
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for key in ("0.bias", "6.bias"):
        rec.tensor(f"before/{key}", before[key])
    with rec.step("apply", f"net.apply({name})"):
        net.apply(fn)
    rec.tensor("after/0.weight", net[0].weight)
    rec.tensor("after/0.bias", net[0].bias)
    rec.tensor("after/6.weight", net[6].weight)
    rec.tensor("after/6.bias", net[6].bias)
    rec.value("same_objects", net[0].weight is weight_obj and net[0].bias is bias_obj)
    rec.value("requires_grad", [bool(p.requires_grad) for p in net.parameters()])
    rec.value("is_parameter", [isinstance(p, nn.Parameter) for p in net.parameters()])
    rec.value("optimizer_sees", opt.param_groups[0]["params"][0] is net[0].weight)
    changed = []
    for key, value in net.state_dict().items():
        if key.split(".")[0] in fixtures.UNTOUCHED and not torch.equal(value, before[key]):
            changed.append(key)
    rec.value("untouched_changed", changed)
    with rec.step("no_bias", f"{name}(nn.Linear(30, 20, bias=False))"):
        torch.manual_seed(7)
        lin = nn.Linear(30, 20, bias=False)
        w = lin.weight
        fn(lin)
        rec.tensor("no_bias/weight", lin.weight)
        rec.value("no_bias/same_object", lin.weight is w)
        rec.value("no_bias/bias_is_none", lin.bias is None)
