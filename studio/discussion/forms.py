from django import forms

from studio.forms import PlainLabels

from .models import Kind
from .services import MAX_COMMENT


class CommentForm(PlainLabels, forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Say something; @name mentions"}),
        error_messages={"required": "Write something first."},
    )


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(coerce=int, choices=[(i, i) for i in range(6)])


class NotificationSettingsForm(PlainLabels, forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Tell me when",
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    daily_digest = forms.BooleanField(
        label="Also send me a daily email with the day's notifications", required=False
    )

    @property
    def muted(self) -> list[str]:
        return [k for k in Kind.values if k not in self.cleaned_data["kinds"]]
