"""Connected components of claim pairs, vectorised: label propagation with pointer jumping.

Each claim starts as its own label; every round gives both ends of each edge the smaller of
their labels and then lets every label jump to its label's label. Rounds repeat until nothing
changes; the result names each component by its smallest member. Claims on no edge get ``-1``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def components(n: int, a: I64, b: I64) -> I64:
    label = np.arange(n, dtype=np.int64)
    if len(a):
        while True:
            low = np.minimum(label[a], label[b])
            before = label.copy()
            np.minimum.at(label, a, low)
            np.minimum.at(label, b, low)
            while True:
                jumped = label[label]
                if np.array_equal(jumped, label):
                    break
                label = jumped
            if np.array_equal(before, label):
                break
    linked = np.zeros(n, dtype=bool)
    linked[a] = True
    linked[b] = True
    return np.where(linked, label, -1)
