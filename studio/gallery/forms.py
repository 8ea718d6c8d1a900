from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model

from studio.forms import PlainLabels
from studio.generations.models import Generation, Status, Tool

from . import selectors
from .models import Collection

# Results exist once a generation succeeded; a failed one may have stored some.
RESULT_STATUSES = [(Status.SUCCEEDED.value, "Succeeded"), (Status.FAILED.value, "Failed")]
STAR_CHOICES = [(n, f"{n} ★ and up" if n < 5 else "5 ★") for n in range(1, 6)]
SHARE_LIFETIMES = {
    "": None,
    "1": timedelta(days=1),
    "7": timedelta(days=7),
    "30": timedelta(days=30),
}


class GalleryFilterForm(PlainLabels, forms.Form):
    """The gallery's filters, read from the query string (so a URL is a saved search)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Prompt words, and what the images show (VideoGen's descriptions).",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "lighthouse, teal…"}),
    )
    member = forms.ModelChoiceField(
        label="Made by",
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="Everyone",
        error_messages={"invalid_choice": "That person is not in this team."},
    )
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *RESULT_STATUSES], required=False
    )
    tool = forms.ChoiceField(
        label="Made with", choices=[("", "Any tool"), *Tool.choices], required=False
    )
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio",
        choices=[("", "Any shape"), *Generation.AspectRatio.choices],
        required=False,
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    favourites = forms.BooleanField(label="Only my favourites", required=False)
    collection = forms.ModelChoiceField(
        label="Collection",
        queryset=Collection.objects.none(),
        required=False,
        empty_label="Any collection",
    )

    sort = forms.ChoiceField(label="Sort by", choices=selectors.SORTS, required=False)
    rating = forms.TypedChoiceField(
        label="Team's rating",
        choices=[("", "Any rating"), *STAR_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    my_rating = forms.TypedChoiceField(
        label="My rating",
        choices=[("", "Any"), *STAR_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = (
            get_user_model().objects.filter(memberships__team=team).order_by("username")
        )
        self.fields["collection"].queryset = selectors.collection_choices(team=team)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self, *, user) -> selectors.Filters:
        """The valid filters; a field with an error is left out (and shown with its error)."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return selectors.Filters(
            q=data.get("q") or "",
            member=data.get("member"),
            status=data.get("status") or "",
            tool=data.get("tool") or "",
            aspect_ratio=data.get("aspect_ratio") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            favourites_of=user if data.get("favourites") else None,
            collection=data.get("collection"),
            min_rating=data.get("rating"),
            my_min_rating=data.get("my_rating"),
            rater=user,
            sort=data.get("sort") or selectors.NEWEST,
        )

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)

    @property
    def active_count(self) -> int:
        """How many filters are set, for the "Filters (2)" button on a phone."""
        return sum(1 for name in self.fields if self.data.get(name))


class CollectionForm(PlainLabels, forms.Form):
    name = forms.CharField(
        label="Collection name",
        max_length=100,
        error_messages={"required": "Give the collection a name."},
    )


class ShareLinkForm(PlainLabels, forms.Form):
    expires_in = forms.ChoiceField(
        label="Link valid for",
        choices=[("", "Until revoked"), ("1", "1 day"), ("7", "7 days"), ("30", "30 days")],
        required=False,
    )

    @property
    def lifetime(self) -> timedelta | None:
        return SHARE_LIFETIMES[self.cleaned_data.get("expires_in") or ""]
