"""Project-wide form rendering: one field layout for every form in Studio."""

from django.forms.renderers import TemplatesSetting


class StudioFormRenderer(TemplatesSetting):
    # Label, then errors, then the control, then its help: the error sits
    # right under the label it concerns, the help under the control.
    field_template_name = "forms/field.html"
