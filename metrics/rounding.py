"""The one rounding rule for every number a person reads (pages and the weekly PDF alike).

A value is taken exactly as the metrics module returns it (the digits `python -m etl stats
--json` prints), scaled (× 100 for a rate shown as a percentage), and rounded half up to the
shown number of decimals: 9/16 = 0.5625 reads 56.3 %, never 56.2 % (which float formatting,
rounding half to even on binary values, would print).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def exact(value) -> Decimal:
    # repr() is the shortest text that reads back as the same float: the digits stats --json prints.
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def rounded(value, scale: int = 1, digits: int = 1) -> Decimal | None:
    """value × scale, rounded half up to `digits` decimals (None stays None)."""
    if value is None:
        return None
    return (exact(value) * scale).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
