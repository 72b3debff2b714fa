"""devices.py: try_gpu and try_all_gpus."""

from __future__ import annotations

import random

from grader.assignment import Exercise
from grader.i18n import N_

FILE = "devices.py"
ORDER = 6


def draw(rng: random.Random) -> dict:
    """The expected answers depend only on the question: part of it is drawn
    afresh per run (GPU counts, call indices, and the keys the answers are
    recorded under), so that a child that writes its own observations must
    still answer questions it cannot know in advance: forging costs as much as
    solving."""
    counts = [0, 1, 2, 4, rng.choice((3, 5, 6, 7, 8))]
    rng.shuffle(counts)
    return {
        "simulated": [[f"{rng.getrandbits(48):012x}", c] for c in counts],
        "real": f"{rng.getrandbits(48):012x}",
        "indices": [0, 1, 3, rng.choice((2, 4, 5, 6, 7, 9))],
    }


EXERCISES = (
    Exercise(
        id="devices",
        file=FILE,
        title=N_("Devices: try_gpu and try_all_gpus"),
        probe="devices",
        seed=16,
        draw_params=draw,
        real_gpus=True,
    ),
)
