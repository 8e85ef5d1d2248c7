"""Reproducible priority scores: RICE and WSJF, each under an explicit formula version.

A score is recorded with its inputs and its formula version (``rice.v1``, ``wsjf.v1``).
A later version is added next to the earlier ones, never in place of them, so a past
score can always be recomputed exactly as it was made. Pure: standard library only.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from domain.errors import InvalidCommand

#: The impact scale of RICE (Intercom): massive, high, medium, low, minimal.
RICE_IMPACTS = (3.0, 2.0, 1.0, 0.5, 0.25)
RICE_MAX_REACH = 10_000_000
RICE_EFFORT_RANGE = (0.1, 1000.0)

#: The modified Fibonacci scale SAFe uses for every WSJF input.
WSJF_SCALE = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0)

#: Scores are rounded to this many decimals, as part of every formula version.
DECIMALS = 4


@dataclass(frozen=True)
class Score:
    """A computed priority: the formula version, the inputs it used and the result."""

    formula: str
    inputs: dict[str, float]
    value: float

    @property
    def method(self) -> str:
        return self.formula.split(".")[0]

    def explain(self) -> str:
        """The computation in one line, e.g. ``rice.v1: 1000 * 2 * 0.8 / 4 = 400``."""
        return f"{self.formula}: {FORMULAS[self.formula].show(self.inputs)} = {self.value:g}"


@dataclass(frozen=True)
class Formula:
    """One version of a scoring method: how to check its inputs and compute it."""

    name: str
    inputs: tuple[str, ...]
    check: Callable[[str, float], None]
    compute: Callable[[Mapping[str, float]], float]
    show: Callable[[Mapping[str, float]], str]


def _check_rice(name: str, value: float) -> None:
    if name == "reach" and not 0 <= value <= RICE_MAX_REACH:
        raise InvalidCommand(
            f"RICE reach is the number of people or events per period, from 0 to "
            f"{RICE_MAX_REACH:,}; got {value:g}."
        )
    if name == "impact" and value not in RICE_IMPACTS:
        raise InvalidCommand(
            "RICE impact is one of 3 (massive), 2 (high), 1 (medium), 0.5 (low) or "
            f"0.25 (minimal); got {value:g}."
        )
    if name == "confidence" and not 0 < value <= 1:
        raise InvalidCommand(
            f"RICE confidence is a fraction above 0 and at most 1 (0.8 for 80%); got {value:g}."
        )
    low, high = RICE_EFFORT_RANGE
    if name == "effort" and not low <= value <= high:
        raise InvalidCommand(
            f"RICE effort is in person-months, from {low:g} to {high:g}; got {value:g}."
        )


def _check_wsjf(name: str, value: float) -> None:
    if value not in WSJF_SCALE:
        scale = ", ".join(f"{v:g}" for v in WSJF_SCALE)
        raise InvalidCommand(
            f"WSJF {name.replace('_', ' ')} is one of {scale} (the modified Fibonacci "
            f"scale); got {value:g}."
        )


FORMULAS: dict[str, Formula] = {
    "rice.v1": Formula(
        name="rice.v1",
        inputs=("reach", "impact", "confidence", "effort"),
        check=_check_rice,
        compute=lambda i: i["reach"] * i["impact"] * i["confidence"] / i["effort"],
        show=lambda i: f"{i['reach']:g} * {i['impact']:g} * {i['confidence']:g} / {i['effort']:g}",
    ),
    "wsjf.v1": Formula(
        name="wsjf.v1",
        inputs=("business_value", "time_criticality", "risk_reduction", "job_size"),
        check=_check_wsjf,
        compute=lambda i: (i["business_value"] + i["time_criticality"] + i["risk_reduction"])
        / i["job_size"],
        show=lambda i: f"({i['business_value']:g} + {i['time_criticality']:g} + "
        f"{i['risk_reduction']:g}) / {i['job_size']:g}",
    ),
}

#: The version a new score uses when only the method is named.
CURRENT: dict[str, str] = {"rice": "rice.v1", "wsjf": "wsjf.v1"}


def formula_named(method: str) -> Formula:
    """The formula for ``rice`` / ``wsjf`` (current version) or an explicit ``rice.v1``."""
    name = CURRENT.get(method, method)
    try:
        return FORMULAS[name]
    except KeyError:
        known = ", ".join([*CURRENT, *FORMULAS])
        raise InvalidCommand(f"Unknown scoring method '{method}'. Use one of: {known}.") from None


def score(method: str, inputs: Mapping[str, float]) -> Score:
    """Check ``inputs`` against the formula of ``method`` and compute the score."""
    formula = formula_named(method)
    missing = [name for name in formula.inputs if name not in inputs]
    extra = sorted(set(inputs) - set(formula.inputs))
    if missing or extra:
        raise InvalidCommand(
            f"{formula.name} needs exactly these inputs: {', '.join(formula.inputs)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(extra)}" if extra else "")
            + "."
        )
    checked = {name: _number(formula.name, name, inputs[name]) for name in formula.inputs}
    for name, value in checked.items():
        formula.check(name, value)
    return Score(formula.name, checked, round(formula.compute(checked), DECIMALS))


def _number(formula: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCommand(f"{formula} input '{name}' must be a number; got {value!r}.")
    if not math.isfinite(value):
        raise InvalidCommand(f"{formula} input '{name}' must be a finite number.")
    return float(value)
