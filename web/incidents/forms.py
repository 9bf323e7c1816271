"""Incident forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import Select

from shared.incidents.models import ENVIRONMENTS, Priority


class QuickOptionsSelect(Select):
    """wtforms' Select, drawing a plain option (no extra attributes) with one format string
    instead of html_params: the dashboard draws the new-incident form on every load, and its
    owner dropdown lists every user (html_params per option was ~10 % of the page's time).
    Same HTML as wtforms: `<option selected value="...">`."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        value = choice.value
        if kwargs or choice.render_kw or not isinstance(value, str):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        return Markup(f'<option {selected}value="{escape(value)}">{escape(choice.label or value)}</option>')  # noqa: S704


class IncidentForm(FlaskForm):
    # The domain service validates; these fields only carry what was typed, so an invalid
    # submission comes back with every value kept and each problem beside its field.
    title = StringField("Title")
    description = TextAreaField("Description", description="Markdown is supported.")
    # validate_choice=False: an unknown value must reach the service and come back as a 422
    # beside its field, not fail validate() and be refused as a bad (CSRF) request.
    priority = SelectField(
        "Priority",
        choices=[SelectChoice(p.value, p.value) for p in Priority],
        default="P3",
        validate_choice=False,
        widget=QuickOptionsSelect(),
    )
    component = StringField("Component", description="e.g. rds, alb, network")
    environment = SelectField(
        "Environment",
        choices=[SelectChoice(e, e) for e in ENVIRONMENTS],
        default="prod",
        validate_choice=False,
        widget=QuickOptionsSelect(),
    )
    owner = SelectField(
        "Owner", choices=[], validate_choice=False, validators=[Optional()], widget=QuickOptionsSelect()
    )
    # A text field drawn as a date picker: a bad value reaches the service and comes back beside it.
    due_date = StringField("Due date", description="Optional.", render_kw={"type": "date"})
    # One per drawing of the form (kept when a refused form comes back): a double click, or Back
    # and submit again, files the incident once (shared.incidents.idempotency). Back draws the
    # page anew (no-store), with a new key, while the browser puts back what was typed: app.js
    # keeps the key that was sent in the page's history entry and puts it back too.
    filing_key = HiddenField(default=lambda: secrets.token_urlsafe(16), render_kw={"data-form-key": True})
    submit = SubmitField("Create incident")


class EditIncidentForm(FlaskForm):
    title = StringField("Title")
    # Tall enough to read a description (and, after an edit conflict, the merge) in place.
    description = TextAreaField("Description", description="Markdown is supported.", render_kw={"rows": 12})
    component = StringField("Component")
    environment = SelectField("Environment", choices=[SelectChoice(e, e) for e in ENVIRONMENTS], validate_choice=False)
    due_date = StringField(
        "Due date", description="Optional. Empty it to clear the due date.", render_kw={"type": "date"}
    )
    submit = SubmitField("Save changes")
