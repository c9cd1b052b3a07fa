"""The lab page's form to start a generation job (Flask-WTF adds the CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField
from wtforms.validators import DataRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from .service import DEFAULT_CONCURRENCY, MAX_CONCURRENCY


class GenerateForm(FlaskForm):
    models = SelectMultipleField("Models", choices=[], validators=[DataRequired("Choose at least one model.")],
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    concurrency = IntegerField("Requests in flight", default=DEFAULT_CONCURRENCY,
                               validators=[NumberRange(1, MAX_CONCURRENCY)])

    @classmethod
    def for_models(cls, names: list[str]) -> "GenerateForm":
        form = cls()
        form.models.choices = [(name, name) for name in names]
        return form
