from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from studio.forms import PlainLabels

DEFAULT_DAYS = 14


class ClientLinkForm(PlainLabels, forms.Form):
    expires_on = forms.DateField(
        label="Valid until (end of day, UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Choose until when the link works."},
    )
    password = forms.CharField(
        label="Password (optional)",
        required=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Give it to the client separately. Stored hashed; wrong tries are slowed down.",
    )
    allow_downloads = forms.BooleanField(label="Allow downloads of the originals", required=False)
    proof_overlay = forms.BooleanField(
        label="Stamp “PROOF” on the previews", required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "initial", {"expires_on": timezone.now().date() + timedelta(days=DEFAULT_DAYS)}
        )
        super().__init__(*args, **kwargs)

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day < timezone.now().date():
            raise forms.ValidationError("Choose today or a later day.")
        return day

    @property
    def expires_at(self) -> datetime:
        day = self.cleaned_data["expires_on"] + timedelta(days=1)
        return datetime.combine(day, time.min, tzinfo=UTC)


class ClientPasswordForm(PlainLabels, forms.Form):
    password = forms.CharField(
        label="Password", max_length=128, widget=forms.PasswordInput(attrs={"autofocus": True})
    )


class ClientNameForm(PlainLabels, forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=100,
        help_text="The team sees it next to your picks and comments.",
        error_messages={"required": "Tell the team who you are."},
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "name"}),
    )

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Tell the team who you are.")
        return name
