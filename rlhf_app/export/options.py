"""Export parameters: one frozen value shared by the CLI, the lab page and the API."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from ..common.errors import ValidationError
from .aggregate import AGGREGATES
from .formats import FORMAT_NAMES

DEFAULT_TIE_THRESHOLD = 0.5
DEFAULT_TEST_FRACTION = 0.1
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how; ``until`` is inclusive (whole UTC days)."""

    format: str
    text: bool = False
    margin: bool = False
    with_rewrites: bool = False
    aggregate: str = "mean"
    tie_threshold: float = DEFAULT_TIE_THRESHOLD
    min_gold_accuracy: float | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    seed: int = 0
    test_fraction: float = DEFAULT_TEST_FRACTION

    def parameters(self) -> dict[str, Any]:
        """Plain JSON values, in field order, for the manifest and the ExportRun row."""
        values = dataclasses.asdict(self)
        for key in ("since", "until"):
            values[key] = values[key].isoformat() if values[key] else None
        return values

    def since_at(self) -> dt.datetime | None:
        return _midnight(self.since) if self.since else None

    def until_before(self) -> dt.datetime | None:
        """The first instant after the ``until`` day."""
        return _midnight(self.until + dt.timedelta(days=1)) if self.until else None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def option_errors(options: ExportOptions) -> dict[str, str]:
    """Every problem with ``options`` by field (empty when they are fine)."""
    errors: dict[str, str] = {}
    if options.format not in FORMAT_NAMES:
        errors["format"] = f"'{options.format}' is not a format; choose one of {', '.join(FORMAT_NAMES)}"
    if options.aggregate not in AGGREGATES:
        errors["aggregate"] = f"'{options.aggregate}' is not an aggregation; choose one of {', '.join(AGGREGATES)}"
    if not 0 <= options.tie_threshold <= 3:
        errors["tie_threshold"] = f"{options.tie_threshold} is outside 0..3"
    if options.min_gold_accuracy is not None and not 0 <= options.min_gold_accuracy <= 1:
        errors["min_gold_accuracy"] = f"{options.min_gold_accuracy} is outside 0..1"
    if not 0 <= options.test_fraction < 1:
        errors["test_fraction"] = f"{options.test_fraction} is outside 0..1 (1 excluded)"
    if not 0 <= options.seed <= MAX_SEED:
        errors["seed"] = f"{options.seed} is outside 0..{MAX_SEED}"
    if options.since and options.until and options.since > options.until:
        errors["until"] = f"{options.until} is before since={options.since}"
    return errors


def validate_options(options: ExportOptions) -> ExportOptions:
    """Return ``options`` or raise ValidationError naming every bad field."""
    errors = option_errors(options)
    if errors:
        raise ValidationError(errors, "The export options are not valid.")
    return options


def options_from_mapping(raw: Mapping[str, Any]) -> ExportOptions:
    """Parse strings from a form or a query string (checkboxes: "1", "true", "on", "y", "yes")."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"format": str(raw.get("format") or "").strip()}
    for name in ("text", "margin", "with_rewrites"):
        values[name] = str(raw.get(name, "")).strip().lower() in ("1", "true", "on", "y", "yes")
    if raw.get("aggregate"):
        values["aggregate"] = str(raw["aggregate"]).strip()
    for name, kind in (("tie_threshold", float), ("min_gold_accuracy", float), ("seed", int),
                       ("test_fraction", float), ("since", dt.date.fromisoformat), ("until", dt.date.fromisoformat)):
        text = str(raw.get(name) or "").strip()
        if text:
            try:
                values[name] = kind(text)
            except ValueError:
                errors[name] = f"'{text[:40]}' is not a valid {name.replace('_', ' ')}"
    if errors:
        raise ValidationError(errors, "The export options are not valid.")
    return validate_options(ExportOptions(**values))
