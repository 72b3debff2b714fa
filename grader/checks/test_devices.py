"""Checks for devices.py: try_gpu and try_all_gpus, real and simulated."""

from __future__ import annotations

import torch

from ..feedback import fail, value
from ..i18n import N_, _
from . import check

SIMULATED = (1, 2, 4)


def _expected_gpu(count: int, i: int | None) -> str:
    i = 0 if i is None else i
    return f"cuda:{i}" if count >= i + 1 else "cpu"


def _show(desc: dict) -> str:
    if desc.get("type") == "device":
        return f"device('{desc.get('str')}')"
    if "items" in desc:
        return f"{desc.get('type')}[" + ", ".join(_show(d) for d in desc["items"]) + "]"
    return f"{desc.get('type')} {desc.get('str', '')!r}"


def _check_try_gpu(o, label: str, count: int) -> None:
    for i in (None, 0, 1, 3):
        call = "try_gpu()" if i is None else f"try_gpu({i})"
        got = value(o, f"{label}/{call}", step=f"{label}/{call}", kind=dict)
        want = _expected_gpu(count, i)
        if got.get("type") != "device" or got.get("str") != want:
            fail(_("with {count} GPU(s), {call} returned {got}; expected device('{want}')").format(
                count=count, call=call, got=_show(got), want=want))


def _check_try_all(o, label: str, count: int) -> None:
    got = value(o, f"{label}/try_all_gpus()", step=f"{label}/try_all_gpus()", kind=dict)
    want = [f"cuda:{i}" for i in range(count)] or ["cpu"]
    items = got.get("items")
    ok = got.get("type") == "list" and isinstance(items, list) and \
        [d.get("str") if d.get("type") == "device" else None for d in items] == want
    if not ok:
        fail(_("with {count} GPU(s), try_all_gpus() returned {got}; expected [{want}]").format(
            count=count, got=_show(got), want=", ".join(f"device('{w}')" for w in want)))


@check("devices", "try_gpu_no_gpu", title=N_("try_gpu(i) returns cpu when there is no GPU"),
       hint=N_("torch.device(\"cpu\") whenever torch.cuda.device_count() < i + 1."))
def test_try_gpu_none(o):
    _check_try_gpu(o, "0", 0)


@check("devices", "try_gpu_counts", title=N_("try_gpu(i) with 1, 2 and 4 GPUs"),
       hint=N_("cuda:i exists when device_count() >= i + 1 (devices are numbered from 0)."))
def test_try_gpu_counts(o):
    for count in SIMULATED:
        _check_try_gpu(o, str(count), count)


@check("devices", "try_all_gpus_no_gpu",
       title=N_("try_all_gpus() returns [device('cpu')] when there is no GPU"),
       hint=N_("Never return an empty list: fall back to [torch.device(\"cpu\")]."))
def test_try_all_none(o):
    _check_try_all(o, "0", 0)


@check("devices", "try_all_gpus_counts", title=N_("try_all_gpus() with 1, 2 and 4 GPUs"),
       hint=N_("[torch.device(f\"cuda:{i}\") for i in range(torch.cuda.device_count())]."))
def test_try_all_counts(o):
    for count in SIMULATED:
        _check_try_all(o, str(count), count)


@check("devices", "real_count", title=N_("Both functions agree with this machine's real GPUs"),
       hint=N_("Ask torch.cuda.device_count() each time; do not hard-code a count."))
def test_real(o):
    count = torch.cuda.device_count()
    _check_try_gpu(o, "real", count)
    _check_try_all(o, "real", count)
