from datetime import timedelta

from django import forms

from studio.forms import PlainLabels

from .models import Invitation, Role

LIFETIMES = {"1": timedelta(days=1), "7": timedelta(days=7), "30": timedelta(days=30)}


class TeamForm(PlainLabels, forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=100,
        error_messages={"required": "Give the team a name."},
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the team a name.")
        return name


class InvitationForm(PlainLabels, forms.Form):
    role = forms.ChoiceField(label="Role", choices=Invitation.INVITABLE_ROLES, initial=Role.MEMBER)
    email = forms.EmailField(
        label="Email (optional)",
        required=False,
        help_text="We send the link there too. Anyone with the link can use it once.",
        widget=forms.EmailInput(attrs={"placeholder": "name@example.com", "autocomplete": "off"}),
    )
    expires_in = forms.ChoiceField(
        label="Valid for",
        choices=[("1", "1 day"), ("7", "7 days"), ("30", "30 days")],
        initial="7",
    )

    def __init__(self, *args, grantable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            (value, label) for value, label in Invitation.INVITABLE_ROLES if value in grantable
        ]

    @property
    def lifetime(self) -> timedelta:
        return LIFETIMES[self.cleaned_data["expires_in"]]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
