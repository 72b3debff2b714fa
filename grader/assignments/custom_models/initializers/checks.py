"""Checks for initializers.py: five initialisers, five checks each."""

from __future__ import annotations

import math

import torch

from grader.checks import check
from grader.checks.common import inputs
from grader.feedback import CheckFailed, expect_distribution, fail, require, tensor, value
from grader.i18n import N_, _
from grader.statistics import my_init_cdf, normal_cdf, uniform_cdf

from . import fixtures


def _sent(o) -> dict[str, torch.Tensor]:
    """The initial state_dict the grader sent to the probe (by key)."""
    t = inputs(o.exercise)
    return {k.removeprefix("state/"): v for k, v in t.items() if k.startswith("state/")}


# the Linear weights of the probe's network: (key, fan_in, fan_out)
LAYERS = fixtures.linear_weights(fixtures.init_net())


def _constant(c: float):
    def verify(t: torch.Tensor, fan_in: int, fan_out: int, what: str) -> None:
        bad = t != c
        if bool(bad.any()):
            i = int(bad.reshape(-1).nonzero()[0])
            fail(
                _(
                    "{what}: every value should be {c:g}; {n} of {total} are not (e.g. {value:.4g})"
                ).format(
                    what=what, c=c, n=int(bad.sum()), total=t.numel(), value=float(t.reshape(-1)[i])
                )
            )

    return verify


def _distribution(
    describe: str, cdf_for, moments, atoms: bool = False, zero_share: float | None = None
):
    def verify(t: torch.Tensor, fan_in: int, fan_out: int, what: str) -> None:
        mean, std = moments(fan_in, fan_out)
        expect_distribution(
            t,
            what,
            _(describe).format(a=math.sqrt(6 / (fan_in + fan_out))),
            cdf_for(fan_in, fan_out),
            mean=mean,
            std=std,
            atoms=atoms,
            zero_share=zero_share,
        )

    return verify


# my_init: 1/2 zeros, 1/4 U(5, 10), 1/4 U(-10, -5): E[x^2] = (25 + 50 + 100) / 3 / 2
MY_INIT_STD = math.sqrt((25 + 50 + 100) / 3 / 2)


SPECS = {
    "init_normal": {
        "weights": _distribution(
            "N(0, 0.01²)", lambda i, o: normal_cdf(0.0, 0.01), lambda i, o: (0.0, 0.01)
        ),
        "describe": N_("weights look N(0, 0.01²)"),
        "bias": "zero",
        "hint": N_("nn.init.normal_(m.weight, mean=0, std=0.01) and nn.init.zeros_(m.bias)."),
    },
    "init_constant": {
        "weights": _constant(1.0),
        "describe": N_("every weight is 1"),
        "bias": "zero",
        "hint": N_("nn.init.constant_(m.weight, 1) and nn.init.zeros_(m.bias)."),
    },
    "init_xavier": {
        "weights": _distribution(
            "U(-{a:.4f}, {a:.4f})",
            lambda i, o: uniform_cdf(-math.sqrt(6 / (i + o)), math.sqrt(6 / (i + o))),
            lambda i, o: (0.0, math.sqrt(2 / (i + o))),
        ),
        "describe": N_("weights look Xavier uniform U(-a, a), a = sqrt(6 / (fan_in + fan_out))"),
        "bias": "unchanged",
        "hint": N_(
            "nn.init.xavier_uniform_(m.weight); fan_in and fan_out come from the weight's shape."
        ),
    },
    "init_42": {
        "weights": _constant(42.0),
        "describe": N_("every weight is 42"),
        "bias": "unchanged",
        "hint": N_("nn.init.constant_(m.weight, 42); leave the bias alone."),
    },
    "my_init": {
        "weights": _distribution(
            N_(
                "U(5, 10) with probability 1/4, 0 with probability 1/2, "
                "U(-10, -5) with probability 1/4"
            ),
            lambda i, o: my_init_cdf,
            lambda i, o: (0.0, MY_INIT_STD),
            atoms=True,
            zero_share=0.5,
        ),
        "describe": N_(
            "weights follow U(5, 10) with probability 1/4, 0 with probability 1/2, "
            "U(-10, -5) with probability 1/4"
        ),
        "bias": "unchanged",
        "hint": N_(
            "nn.init.uniform_(m.weight, -10, 10), then, under torch.no_grad(), "
            "m.weight *= m.weight.abs() >= 5."
        ),
    },
}

IN_PLACE_HINT = N_(
    "Change values in place (nn.init.*_ functions, or in-place ops under "
    "torch.no_grad()); never assign a new nn.Parameter, or an optimizer built "
    "before would keep training the old one."
)


def _make_checks(name: str, spec: dict) -> None:
    weights = spec["weights"]

    @check(name, "weights", title=spec["describe"], hint=spec["hint"])
    def test_weights(o):
        require(o, "apply")
        for key, fan_in, fan_out in LAYERS:
            weights(
                tensor(o, f"after/{key}"),
                fan_in,
                fan_out,
                _("weight of nn.Linear({i}, {o}) after net.apply({f})").format(
                    i=fan_in, o=fan_out, f=name
                ),
            )

    zero = spec["bias"] == "zero"

    @check(
        name,
        "bias",
        title=N_("biases are set to 0") if zero else N_("biases are unchanged"),
        hint=spec["hint"],
    )
    def test_bias(o):
        require(o, "apply")
        for key in ("0.bias", "6.bias"):
            after = tensor(o, f"after/{key}")
            before = _sent(o)[key]
            expected = torch.zeros_like(before) if zero else before
            diff = (after - expected).abs() if after.shape == expected.shape else None
            if diff is None or bool((diff > 0).any()):
                if zero:
                    fail(
                        _("bias {key} should be all zeros; largest value {value:.4g}").format(
                            key=key, value=float(after.abs().max()) if after.numel() else 0.0
                        )
                    )
                fail(
                    _("bias {key} should stay unchanged, but {n} of its values changed").format(
                        key=key, n=int((diff > 0).sum()) if diff is not None else after.numel()
                    )
                )

    @check(
        name,
        "others_untouched",
        title=N_("Modules other than nn.Linear are left untouched"),
        hint=N_(
            "Test isinstance(m, nn.Linear) (or type(m) == nn.Linear), not "
            'hasattr(m, "weight"): BatchNorm, LayerNorm and Conv also have weights.'
        ),
    )
    def test_others(o):
        require(o, "apply")
        sent = _sent(o)
        changed = []
        for key, before in sent.items():
            if key.split(".")[0] not in fixtures.UNTOUCHED:
                continue
            after = o.tensors.get(f"after/{key}")
            if (
                after is None
                or after.shape != before.shape
                or after.dtype != before.dtype
                or not torch.equal(after, before)
            ):
                changed.append(key)
        if changed:
            fail(
                _("net.apply({f}) changed modules that are not nn.Linear: {keys}").format(
                    f=name, keys=", ".join(map(str, changed))
                )
            )

    @check(
        name,
        "no_bias",
        title=N_("Works on nn.Linear(..., bias=False)"),
        hint=N_("m.bias is None when bias=False: check before touching it."),
    )
    def test_no_bias(o):
        require(o, "no_bias")
        weight = tensor(o, "no_bias/weight")
        try:
            for key, fan_in, fan_out in LAYERS:
                weights(tensor(o, f"after/{key}"), fan_in, fan_out, key)
        except CheckFailed:
            # the weights are wrong everywhere: that is the weights check's
            # business; here only "it ran and initialised the weight" counts
            initial = inputs(o.exercise)["no_bias/initial"]
            if weight.shape == initial.shape and torch.equal(weight, initial):
                fail(
                    _(
                        "{f}({layer}) left the weight unchanged: "
                        "initialise the weight even when m.bias is None"
                    ).format(f=name, layer=fixtures.NO_BIAS_CODE)
                )
            return
        weights(
            weight, *fixtures.NO_BIAS, _("weight of {layer}").format(layer=fixtures.NO_BIAS_CODE)
        )

    @check(
        name,
        "in_place",
        title=N_("Parameters stay the same objects and keep requires_grad"),
        hint=IN_PLACE_HINT,
    )
    def test_in_place(o):
        require(o, "apply")
        if not value(o, "same_objects", kind=bool) or not value(o, "optimizer_sees", kind=bool):
            fail(
                _(
                    "net.apply({f}) replaced the nn.Parameter objects: an optimizer created "
                    "before would not see the new values"
                ).format(f=name)
            )
        if not all(value(o, "is_parameter", kind=list)):
            fail(
                _("after net.apply({f}) some parameters are no longer nn.Parameter").format(f=name)
            )
        if not all(value(o, "requires_grad", kind=list)):
            fail(
                _("after net.apply({f}) some parameters no longer require gradients").format(f=name)
            )
        if o.values.get("no_bias/same_object") is False:
            fail(
                _("{f}({layer}) replaced the weight Parameter").format(
                    f=name, layer=fixtures.NO_BIAS_CODE
                )
            )

    for fn, suffix in (
        (test_weights, "weights"),
        (test_bias, "bias"),
        (test_others, "others_untouched"),
        (test_no_bias, "no_bias"),
        (test_in_place, "in_place"),
    ):
        fn.__name__ = f"test_{name}_{suffix}"
        globals()[fn.__name__] = fn


for _name, _spec in SPECS.items():
    _make_checks(_name, _spec)
