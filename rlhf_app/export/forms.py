"""The lab page's export form: the project slug and the options, parsed from the posted fields."""
from __future__ import annotations

from typing import Any, Mapping

from ..common.errors import ValidationError
from .options import ExportOptions, options_from_mapping


def parse_export_form(form: Mapping[str, Any]) -> tuple[str, ExportOptions]:
    """``(project slug, options)`` or ValidationError naming every bad field."""
    slug = str(form.get("project") or "").strip()
    if not slug:
        raise ValidationError({"project": "choose a project"}, "The export options are not valid.")
    return slug, options_from_mapping(form)
