"""Distribution tests for the initialiser checks.

Each test is a Kolmogorov-Smirnov distance against the exact distribution the
contract names, with a critical value at a false-alarm rate of 1e-9 per test
(the asymptotic bound P(D > d) <= 2 exp(-2 n d^2)), so that a correct
solution essentially never fails, while a wrong distribution on a large layer
is far outside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

FALSE_ALARM = 1e-9


@dataclass(frozen=True)
class KSResult:
    distance: float
    critical: float
    n: int
    mean: float
    std: float

    @property
    def passed(self) -> bool:
        return self.distance <= self.critical


def critical_value(n: int, alpha: float = FALSE_ALARM) -> float:
    return math.sqrt(-math.log(alpha / 2) / (2 * n))


def ks_test(
    sample: torch.Tensor, cdf: Callable[[torch.Tensor], torch.Tensor], *, atoms: bool = False
) -> KSResult:
    """sup |F_n - F|, evaluated at every sample point and just below it.

    With ``atoms`` (a distribution with point masses, such as my_init's 0),
    tied sample values are handled and F is also taken just below each point."""
    x = sample.detach().reshape(-1).double().sort().values
    n = x.numel()
    if n == 0:
        return KSResult(1.0, 0.0, 0, math.nan, math.nan)
    f = cdf(x).clamp(0, 1)
    if atoms:
        last = torch.searchsorted(x, x, right=True).double() / n  # F_n(x)
        first = torch.searchsorted(x, x, right=False).double() / n  # F_n(x-)
        f_left = cdf_left(cdf, x)
    else:
        last = torch.arange(1, n + 1, dtype=torch.float64) / n
        first = last - 1.0 / n
        f_left = f
    d = torch.maximum((last - f).abs().max(), (f_left - first).abs().max())
    std = float(x.std()) if n > 1 else 0.0
    return KSResult(float(d), critical_value(n), n, float(x.mean()), std)


def cdf_left(cdf, x: torch.Tensor) -> torch.Tensor:
    """CDF just below x (differs from cdf(x) only at atoms)."""
    return cdf(torch.nextafter(x, torch.full_like(x, -math.inf))).clamp(0, 1)


def normal_cdf(mean: float, std: float):
    return lambda x: 0.5 * (1 + torch.erf((x - mean) / (std * math.sqrt(2))))


def uniform_cdf(low: float, high: float):
    return lambda x: ((x - low) / (high - low)).clamp(0, 1)


def my_init_cdf(x: torch.Tensor) -> torch.Tensor:
    """U(-10,-5) w.p. 1/4, 0 w.p. 1/2, U(5,10) w.p. 1/4."""
    neg = 0.25 * ((x + 10) / 5).clamp(0, 1)
    zero = 0.5 * (x >= 0).double()
    pos = 0.25 * ((x - 5) / 5).clamp(0, 1)
    return neg + zero + pos
