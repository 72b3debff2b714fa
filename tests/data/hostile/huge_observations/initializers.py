"""Hostile: floods the grader with observations it must not hold.

init_normal, init_constant and init_xavier each write on the result channel
(file descriptor 3) a forged result of 40 MiB of ``[],`` -- a JSON list of
14 million empty lists, about 1.3 GB once parsed -- and end the process;
init_42 sends a tensor header that declares 200,000 tensors.  my_init is
correct.  The grader must refuse each before parsing it, lose those four
exercises only, and stay small (tests/test_robustness.py measures it)."""

import os
import struct

import torch
from torch import nn

RESULT_FD = 3
FLOOD = 40 * 1024 * 1024


def _send(header: bytes, payload: bytes = b"") -> None:
    data = memoryview(struct.pack(">IQ", len(header), len(payload)) + header + payload)
    while data:
        data = data[os.write(RESULT_FD, data):]


def _flood(m: nn.Module) -> None:
    doc = b'{"values": {"flood": [' + b"[]," * (FLOOD // 3) + b'[]]}, "errors": {}}'
    _send(b'{"t": "result_header", "size": %d}' % len(doc), doc)
    os._exit(0)


def init_normal(m: nn.Module) -> None:
    """ES: Pesos N(0, 0.01^2), sesgo 0. / EN: Weights N(0, 0.01^2), bias 0."""
    _flood(m)


def init_constant(m: nn.Module) -> None:
    """ES: Pesos 1, sesgo 0. / EN: Weights 1, bias 0."""
    _flood(m)


def init_xavier(m: nn.Module) -> None:
    """ES: Pesos Xavier uniforme; sesgo intacto. / EN: Xavier-uniform weights; bias unchanged."""
    _flood(m)


def init_42(m: nn.Module) -> None:
    """ES: Pesos 42; sesgo sin cambios. / EN: Weights 42; bias unchanged."""
    doc = b'{"values": {}, "errors": {}}'
    entries = b",".join(b'"t%d": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}' % i
                         for i in range(200_000))
    header = b"{" + entries + b"}"
    tensors = struct.pack("<Q", len(header)) + header
    _send(b'{"t": "result_header", "size": %d}' % len(doc), doc + tensors)
    os._exit(0)


def my_init(m: nn.Module) -> None:
    """ES: U(-10, 10) y se anulan los |w| < 5. / EN: U(-10, 10), then zero every |w| < 5."""
    if isinstance(m, nn.Linear):
        nn.init.uniform_(m.weight, -10, 10)
        with torch.no_grad():
            m.weight *= m.weight.abs() >= 5
