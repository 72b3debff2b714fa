"""Hostile: writes malformed frames on the result channel itself (file
descriptor 3, the channel the grader's recorder uses) and ends the process,
so that the grader reads nothing else:

* MLP.forward: a result header claiming ``"size": 1e999`` (an infinite float);
* MySequential.forward: valid observations followed by tensor bytes that are
  no safetensors file (safetensors raises SafetensorError, not ValueError);
* FixedHiddenMLP.forward: a step frame whose header nests 20,000 lists deep
  (the JSON parser raises RecursionError, not ValueError).

Each must cost that exercise only: the grader reports damaged observations."""

import os
import struct

import torch
from torch import nn

RESULT_FD = 3


def _send(header: bytes, payload: bytes = b"") -> None:
    data = memoryview(struct.pack(">IQ", len(header), len(payload)) + header + payload)
    while data:
        data = data[os.write(RESULT_FD, data):]


class MLP(nn.Module):
    """ES: MLP 20 -> 256 -> 10 con ReLU. / EN: MLP 20 -> 256 -> 10 with ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        doc = b'{"values": {}, "errors": {}}'
        _send(b'{"t": "result_header", "size": 1e999}', doc)
        os._exit(0)


class MySequential(nn.Module):
    """ES: Contenedor secuencial propio. / EN: Home-made sequential container."""

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for idx, module in enumerate(modules):
            self.add_module(str(idx), module)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        doc = b'{"values": {}, "errors": {}}'
        tensors = struct.pack("<Q", 16) + b'{"x": "not a t"}' + b"\x00" * 64
        _send(b'{"t": "result_header", "size": %d}' % len(doc), doc + tensors)
        os._exit(0)


class FixedHiddenMLP(nn.Module):
    """ES: Bloque con peso constante (buffer) y capa compartida.

    EN: Block with a constant weight (buffer) and a shared layer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("rand_weight", torch.rand((20, 20)))
        self.linear = nn.Linear(20, 20)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        _send(b'{"t": "step", "name": ' + b"[" * 20000 + b"]" * 20000 + b"}")
        os._exit(0)
