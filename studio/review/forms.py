from django import forms

from studio.audit.models import AuditEntry
from studio.forms import PlainLabels


class IdsField(forms.Field):
    """A list of result ids; whether they are the team's is the selector's job."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        try:
            return list(dict.fromkeys(int(v) for v in values))
        except (TypeError, ValueError):
            raise forms.ValidationError("Image ids must be numbers.") from None


class DecisionForm(PlainLabels, forms.Form):
    """Approve or reject one result or a selection. `origin` says which
    control sent it, so an error is shown next to that control."""

    ids = IdsField(required=False)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(label="Reason", required=False, max_length=1000)
    origin = forms.CharField(required=False, max_length=30)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("ids"):
            raise forms.ValidationError("Select at least one image first.")
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why: the creator sees the reason.")
        return cleaned

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class PolicyForm(PlainLabels, forms.Form):
    require_approval = forms.BooleanField(
        label="Require approval",
        required=False,
        help_text="Members and viewers see a new image only after an admin or owner approves "
        "it. Creators, admins and owners see it at once, marked “Awaiting review”.",
    )
    approve_existing = forms.BooleanField(
        label="Approve the images already in the gallery",
        required=False,
        initial=True,
        help_text="They were visible to the whole team until now. Leave unchecked to review "
        "them too: they are hidden from members until approved.",
    )


class AuditFilterForm(PlainLabels, forms.Form):
    person = forms.TypedChoiceField(label="Person", coerce=int, required=False, empty_value=None)
    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[("", "Any action"), *AuditEntry.Action.choices],
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone"), *people]
