"""Money and rounding. Money is ``Decimal`` with a currency; every rounding is named.

KRW rounds to 1 or 10 won, USD to the cent; a policy states the step and the mode of every
rounding it applies (``half_up``, ``up``, ``down``, ``half_even``). No float touches money.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from makegood.domain.errors import InputError

RoundingMode = Literal["half_up", "up", "down", "half_even"]
TimeUnit = Literal["day", "hour", "minute", "second"]

_MODES: dict[str, str] = {
    "half_up": decimal.ROUND_HALF_UP,
    "up": decimal.ROUND_CEILING,
    "down": decimal.ROUND_FLOOR,
    "half_even": decimal.ROUND_HALF_EVEN,
}
UNIT_SECONDS: dict[str, int] = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}
_UNIT_WORD = {"day": "day", "hour": "h", "minute": "min", "second": "s"}


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """A Decimal from a str/int/Decimal; floats are refused so binary error never enters money."""
    if isinstance(value, (bool, float)):
        raise InputError(
            f"{value!r} must be written as a string or integer (e.g. \"0.10\"), not a float",
            field=field,
        )
    try:
        result = Decimal(str(value).strip().replace(",", "").replace("_", ""))
    except (decimal.InvalidOperation, ValueError):
        raise InputError(f"{value!r} is not a number", field=field) from None
    if not result.is_finite():
        raise InputError(f"{value!r} is not a finite number", field=field)
    return result


def check_mode(mode: str, *, field: str = "mode") -> RoundingMode:
    if mode not in _MODES:
        raise InputError(
            f"unknown rounding mode {mode!r}; use one of {', '.join(sorted(_MODES))}", field=field
        )
    return mode  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Rounding:
    """Round an amount to a multiple of ``step`` (1 won, 10 won, 0.01 USD) by ``mode``."""

    step: Decimal = Decimal(1)
    mode: RoundingMode = "half_up"

    def apply(self, amount: Decimal | Fraction) -> Decimal:
        """Round ``amount`` (a Decimal, or an exact Fraction such as a yearly fee / 12)."""
        if isinstance(amount, Fraction):
            units = Decimal(_round_fraction(amount / Fraction(self.step), self.mode))
        else:
            units = (amount / self.step).quantize(Decimal(1), rounding=_MODES[self.mode])
        return units * self.step if units else Decimal(0)

    def describe(self) -> str:
        return f"rounded {self.mode.replace('_', ' ')} to {format_amount(self.step)}"


@dataclass(frozen=True, slots=True)
class TimeRounding:
    """Round a duration to whole units (days, hours, minutes) by ``mode``."""

    unit: TimeUnit = "minute"
    mode: RoundingMode = "up"

    def units(self, duration: timedelta) -> Decimal:
        """The duration in whole ``unit``s, rounded by ``mode``."""
        seconds = Decimal(int(duration.total_seconds()))
        return (seconds / UNIT_SECONDS[self.unit]).quantize(Decimal(1), rounding=_MODES[self.mode])

    def apply(self, duration: timedelta) -> timedelta:
        return timedelta(seconds=int(self.units(duration)) * UNIT_SECONDS[self.unit])

    def describe(self) -> str:
        return f"rounded {self.mode.replace('_', ' ')} to whole {self.unit}s"


def _round_fraction(x: Fraction, mode: str) -> int:
    """Round an exact fraction to an integer: no binary or 28-digit error before the rounding."""
    if mode == "up":
        return math.ceil(x)
    if mode == "down":
        return math.floor(x)
    if mode == "half_even":
        return round(x)
    sign = -1 if x < 0 else 1
    return sign * math.floor(abs(x) + Fraction(1, 2))


def to_decimal_places(x: Fraction, places: int = 2) -> Decimal:
    """An exact fraction shown to ``places`` decimals (half up), for explanations."""
    step = Decimal(1).scaleb(-places)
    return Rounding(step, "half_up").apply(x)


def format_amount(amount: Decimal) -> str:
    """``7,550``; ``0.5``; ``1,234.56``: grouping, no exponent, no trailing zeros beyond cents."""
    normalized = amount.normalize()
    if normalized == normalized.to_integral_value():
        return f"{int(normalized):,}"
    text = f"{normalized:,f}"
    return text


def format_quantity(amount: Decimal, unit: str) -> str:
    """``7,550 KRW``, ``3 days``, ``15 h``, ``1 emoticon-pack``."""
    if unit in ("day", "hour"):
        word = _UNIT_WORD[unit]
        if unit == "day" and amount != 1:
            word = "days"
        return f"{format_amount(amount)} {word}"
    return f"{format_amount(amount)} {unit}"
