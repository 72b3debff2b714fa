"""Probes for blocks.py: mlp, my_sequential, fixed_hidden_mlp."""

from __future__ import annotations

import torch
from torch import nn

from .. import N_, audit, describe, forward, label, move, record_grads, record_parameters
from . import fixtures


def mlp(rec, mod, t, device, params):
    with rec.step("construct", "MLP()") as s:
        net = mod.MLP()
        rec.value("is_module", isinstance(net, nn.Module))
        rec.value("structure", describe(net))
        record_parameters(rec, "", net)
    if not s.ok:
        return
    if not move(rec, net, device):
        return
    for n in (1, 3, 64):
        forward(
            rec,
            f"out{n}",
            net,
            t[f"X{n}"].to(device),
            label(
                N_("{call} on {name} of shape {shape}"),
                call="MLP.forward",
                name="X",
                shape=f"({n}, 20)",
            ),
        )
    with rec.step("backward", label(N_("backward pass through {model}"), model="MLP")):
        net.zero_grad()
        out = net(t["X64"].to(device))
        (out * t["G"].to(device)).sum().backward()
        record_grads(rec, "", net)
    audit(rec, mod.MLP, (t["X3"],), device)


def my_sequential(rec, mod, t, device, params):
    X = t["X"].to(device)
    for chain, make in fixtures.CHAINS.items():
        modules = make()
        ours = nn.Sequential(*modules)
        # the values come from the grader, which computes the expected output
        # from what it sent
        ours.load_state_dict({k: t[f"{chain}/given/{k}"] for k in ours.state_dict()})
        with rec.step(
            f"{chain}/construct",
            label(N_("MySequential(*<{case} chain>)"), case=label(fixtures.CHAIN_NAMES[chain])),
        ) as s:
            seq = mod.MySequential(*modules)
            rec.value(f"{chain}/is_module", isinstance(seq, nn.Module))
            rec.value(f"{chain}/is_sequential", isinstance(seq, nn.Sequential))
            rec.value(
                f"{chain}/mro", [c.__module__ + "." + c.__qualname__ for c in type(seq).__mro__]
            )
            rec.value(f"{chain}/state_dict_keys", [str(k) for k in seq.state_dict().keys()])
            rec.value(f"{chain}/children", [n for n, _ in seq.named_children()])
            got = list(seq.parameters())
            want = list(ours.parameters())
            rec.value(f"{chain}/params_count", len(got))
            rec.value(f"{chain}/params_found", [any(p is q for q in got) for p in want])
        if not s.ok:
            continue
        if chain == "shapes":
            with rec.step("to_device", device):
                seq.to(device)
                rec.value(
                    "to_device.param_devices",
                    sorted({p.device.type for m in modules for p in m.parameters()}),
                )
        else:
            for m in modules:
                m.to(device)
        forward(rec, f"{chain}/out", seq, X, f"MySequential(*{chain} chain).forward")
    with rec.step("empty/construct", "MySequential()") as s:
        empty = mod.MySequential()
    if s.ok:
        forward(rec, "empty/out", empty, X, "MySequential().forward")
    audit(rec, lambda: mod.MySequential(*fixtures.chain_shapes()), (t["X"],), device)


def fixed_hidden_mlp(rec, mod, t, device, params):
    with rec.step("construct", "FixedHiddenMLP()") as s:
        net = mod.FixedHiddenMLP()
        rec.value("structure", describe(net))
        record_parameters(rec, "", net)
        rw = getattr(net, "rand_weight", None)
        rec.value(
            "rand_weight.kind",
            "parameter"
            if isinstance(rw, nn.Parameter)
            else "tensor"
            if isinstance(rw, torch.Tensor)
            else type(rw).__name__,
        )
        if isinstance(rw, torch.Tensor):
            rec.tensor("rand_weight", rw)
            rec.value("rand_weight.shape", list(rw.shape))
    if not s.ok:
        return
    if not move(rec, net, device):
        return
    rec.value(
        "rand_weight.device",
        getattr(getattr(net, "rand_weight", None), "device", torch.device("cpu")).type,
    )
    out = forward(
        rec,
        "out",
        net,
        t["X"].to(device),
        label(
            N_("{call} on {name} {shape}"), call="FixedHiddenMLP.forward", name="X", shape="(2, 20)"
        ),
    )
    with rec.step("train_step", label(N_("one SGD step on {model}"), model="FixedHiddenMLP")):
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        opt.zero_grad()
        loss = net(t["X"].to(device))
        loss = loss if isinstance(loss, torch.Tensor) else torch.as_tensor(loss)
        (loss.sum() * 1000).backward()
        rw = getattr(net, "rand_weight", None)
        if isinstance(rw, torch.Tensor):
            rec.value("train.rand_weight_grad", rw.grad is not None)
        opt.step()
        if isinstance(rw, torch.Tensor):
            rec.tensor("train.rand_weight_after", getattr(net, "rand_weight", rw))
        record_grads(rec, "train.", net)
    del out
    audit(rec, mod.FixedHiddenMLP, (t["X"],), device)
