"""Incident forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from shared.incidents.models import ENVIRONMENTS, Priority


class IncidentForm(FlaskForm):
    # The domain service validates; these fields only carry what was typed, so an invalid
    # submission comes back with every value kept and each problem beside its field.
    title = StringField("Title")
    description = TextAreaField("Description", description="Markdown is supported.")
    # validate_choice=False: an unknown value must reach the service and come back as a 422
    # beside its field, not fail validate() and be refused as a bad (CSRF) request.
    priority = SelectField(
        "Priority", choices=[SelectChoice(p.value, p.value) for p in Priority], default="P3", validate_choice=False
    )
    component = StringField("Component", description="e.g. rds, alb, network")
    environment = SelectField(
        "Environment", choices=[SelectChoice(e, e) for e in ENVIRONMENTS], default="prod", validate_choice=False
    )
    owner = SelectField("Owner", choices=[], validate_choice=False, validators=[Optional()])
    # A text field drawn as a date picker: a bad value reaches the service and comes back beside it.
    due_date = StringField("Due date", description="Optional.", render_kw={"type": "date"})
    submit = SubmitField("Create incident")


class EditIncidentForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description", description="Markdown is supported.")
    component = StringField("Component")
    environment = SelectField("Environment", choices=[SelectChoice(e, e) for e in ENVIRONMENTS], validate_choice=False)
    due_date = StringField(
        "Due date", description="Optional. Empty it to clear the due date.", render_kw={"type": "date"}
    )
    submit = SubmitField("Save changes")
