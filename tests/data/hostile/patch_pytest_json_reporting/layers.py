"""Hostile: rewrites pytest's reports and json output so that "failed" reads
"passed". MyLinear.forward forgets the ReLU. The hidden checks run in the
grader's process, so none of this reaches them."""

import torch
from torch import nn
from torch.nn import functional as F


def _rewrite(text):
    return text.replace('"failed"', '"passed"').replace("failed", "passed")


def _patch_json():
    import json

    real_dumps, real_dump = json.dumps, json.dump

    def dumps(obj, *args, **kwargs):
        return _rewrite(real_dumps(obj, *args, **kwargs))

    def dump(obj, fp, *args, **kwargs):
        fp.write(dumps(obj, *args, **kwargs))

    json.dumps, json.dump = dumps, dump
    json.encoder.JSONEncoder.encode = lambda self, o: _rewrite(real_dumps(o))


def _patch_pytest():
    try:
        from _pytest import reports, runner
    except ImportError:
        return
    reports.TestReport.outcome = property(lambda self: "passed", lambda self, v: None)
    reports.TestReport.passed = property(lambda self: True)
    reports.TestReport.failed = property(lambda self: False)
    real = runner.call_and_report

    def call_and_report(item, when, log=True, **kwargs):
        rep = real(item, when, log, **kwargs)
        rep.longrepr = None
        return rep

    runner.call_and_report = call_and_report
    try:
        from pytest_jsonreport import plugin
    except ImportError:
        return
    plugin.JSONReport.pytest_runtest_logreport = lambda self, report: None
    real_sessionfinish = plugin.JSONReport.pytest_sessionfinish

    def sessionfinish(self, session):
        real_sessionfinish(self, session)
        for test in self.report.get("tests", []):
            test["outcome"] = "passed"

    plugin.JSONReport.pytest_sessionfinish = sessionfinish


_patch_json()
_patch_pytest()


class CenteredLayer(nn.Module):
    """ES: Resta la media de todos los elementos. / EN: Subtracts the mean of all elements."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X - X.mean()


class MyLinear(nn.Module):
    """ES: Capa densa propia con ReLU. / EN: Home-made dense layer with ReLU."""

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X @ self.weight + self.bias  # bug: no ReLU
