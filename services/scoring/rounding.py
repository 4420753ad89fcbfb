"""Rounding for display, half up as in the method's tables (domain.md §2.2, §2.7).

Python's ``round`` rounds the exact binary value half to even, so ``round(54.25, 1)`` is 54.2
(54.25 is exact in binary, a tie, and 2 is even) while the paper shows 54.3. Here a number is
read as the decimal it is written as, its float noise below :data:`NOISE_PLACES` decimals
is dropped (``3.9000000000000004`` is 3.9, ``54.249999999999996`` is 54.25), and it is rounded
half up: away from zero, so ``-54.25`` is ``-54.3``, the mirror image of 54.3.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from typing import Final

NOISE_PLACES: Final = 9
"""Decimals kept before rounding for display: binary noise lies far below them."""

_EXACT: Final = Context(prec=400)
"""Enough digits for any finite float with its decimals (the default 28 are not)."""


def round_half_up(value: float, places: int) -> float:
    """``value`` rounded to ``places`` decimals, ties away from zero, float noise ignored.

    Not a finite number: returned as it is (there is nothing to round). Minus zero is 0.0.
    """
    if not math.isfinite(value):
        return value
    written = Decimal(repr(float(value)))
    noise = Decimal(1).scaleb(-NOISE_PLACES)
    clean = written.quantize(noise, rounding=ROUND_HALF_EVEN, context=_EXACT)
    shown = clean.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_EXACT)
    return float(shown) + 0.0  # -0.0 is shown as 0.0
