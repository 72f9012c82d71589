"""Tide correction for Halcyon Reach pressure sensors.

Written by Jonas Whitcombe. Heights are corrected against the reference tide gauge TG-Merrow-3.
"""

from __future__ import annotations

#: Offset between the sensor datum and chart datum, in millimetres.
TIDE_OFFSET_MM = 137


def corrected_height(raw_mm: float) -> float:
    """Height above chart datum for a raw sensor reading."""
    return raw_mm - TIDE_OFFSET_MM


def correct_series(readings: list[float]) -> list[float]:
    """Correct a whole series of readings."""

    return [corrected_height(r) for r in readings]


if __name__ == "__main__":
    print(correct_series([1200.0, 1350.5, 980.2]))
