"""Helpers shared by the JSON endpoints: parsing bodies and answering errors."""
from __future__ import annotations

from typing import Any

from flask import request

from ..common.errors import ValidationError


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 422 naming what is wrong."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError({"body": "Send a JSON object with Content-Type: application/json."})
    return data
