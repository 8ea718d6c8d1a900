"""Project-wide forms: one field layout and one label style for every form in
Studio. Any app may import this module; it imports no app."""

from django.forms.renderers import TemplatesSetting


class StudioFormRenderer(TemplatesSetting):
    # Label, then errors, then the control, then its help: the error sits
    # right under the label it concerns, the help under the control.
    field_template_name = "forms/field.html"


class PlainLabels:
    """Labels without Django's trailing colon, as everywhere in Studio."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
