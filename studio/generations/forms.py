import re
import uuid

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile

from studio.forms import PlainLabels

from .images import InvalidImage, inspect_image, strip_metadata
from .models import Generation, Reference, VideoGenAccount
from .selectors import MAX_ID

MAX_REFERENCES = 4


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class SelectWithDisabled(forms.Select):
    """A select whose `disabled_values` are shown but cannot be chosen."""

    disabled_values: frozenset = frozenset()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


NO_ADDON = (
    "“No watermark” is unavailable: VideoGen refused it for this account, which lacks "
    "the Production add-on."
)


class MultipleImageField(forms.FileField):
    """Up to MAX_REFERENCES images; each one decoded and checked against the limits."""

    widget = MultipleFileInput
    valid_uploads: list = []

    def clean(self, data, initial=None):
        files = [f for f in (data or []) if f] if isinstance(data, list | tuple) else (
            [data] if data else []
        )
        if len(files) > MAX_REFERENCES:
            raise forms.ValidationError(
                f"Add at most {MAX_REFERENCES} reference images (you added {len(files)})."
            )
        errors, checked = [], []
        for upload in files:
            try:
                info = inspect_image(
                    upload,
                    max_bytes=settings.STUDIO_MAX_REFERENCE_BYTES,
                    max_pixels=settings.STUDIO_MAX_REFERENCE_PIXELS,
                )
            except InvalidImage as exc:
                errors.append(forms.ValidationError(f"“{upload.name}” {exc}"))
            else:
                # Stored and sent to VideoGen without EXIF/GPS/XMP, upright.
                data, info = strip_metadata(upload, info)
                checked.append((ContentFile(data, name=upload.name), info))
        # The valid ones are kept (the view stores them as chips), so an error
        # on one image does not cost the others.
        self.valid_uploads = checked
        if errors:
            if checked:
                kept = "1 image was" if len(checked) == 1 else f"{len(checked)} images were"
                errors.append(forms.ValidationError(f"The other {kept} kept."))
            raise forms.ValidationError(errors)
        return checked


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class GenerationForm(PlainLabels, forms.Form):
    # One per rendered form: posting it twice (a double click, a replay) makes
    # one generation. Anything but a key of ours is dropped, not refused.
    idempotency_key = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput, initial=new_idempotency_key
    )
    prompt = forms.CharField(
        label="Prompt",
        max_length=4000,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "A lighthouse on a cliff at dawn, film grain"}
        ),
        error_messages={"required": "Write a prompt: it says what to generate."},
    )
    # References already in the team's library (a remix, or "use as reference").
    reference_ids = forms.ModelMultipleChoiceField(
        queryset=Reference.objects.none(),
        required=False,
        widget=forms.MultipleHiddenInput,
        error_messages={"invalid_choice": "A chosen reference image no longer exists."},
    )
    references = MultipleImageField(
        label="Reference images",
        required=False,
        help_text="Up to 4 PNG, JPEG, WebP or GIF images, 10 MB and 40 megapixels each.",
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio", choices=Generation.AspectRatio.choices, initial="16:9"
    )
    num_results = forms.IntegerField(
        label="Number of results",
        min_value=1,
        max_value=100,
        initial=1,
        error_messages={
            "min_value": "Ask for at least 1 result.",
            "max_value": "Ask for at most 100 results.",
        },
    )
    watermark_mode = forms.ChoiceField(
        label="Watermark",
        choices=Generation.WatermarkMode.choices,
        initial="AUTO",
        widget=SelectWithDisabled,
        help_text="No watermark needs VideoGen's Production add-on.",
    )
    is_output_temporary = forms.BooleanField(
        label="Temporary output",
        required=False,
        help_text=(
            "VideoGen keeps a temporary output for at least 24 h and does not analyse or "
            "search it. Studio keeps its own copy, so the gallery still has the image, but "
            "search by description, “More like this” and “Already made” skip it."
        ),
    )

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference_ids"].queryset = Reference.objects.filter(team=team)
        self.no_watermark_allowed = VideoGenAccount.current().has_production_addon is not False
        if not self.no_watermark_allowed:
            field = self.fields["watermark_mode"]
            field.widget.disabled_values = {"NONE"}
            field.help_text = NO_ADDON

    def clean_watermark_mode(self):
        mode = self.cleaned_data["watermark_mode"]
        if mode == "NONE" and not self.no_watermark_allowed:
            raise forms.ValidationError(NO_ADDON)
        return mode

    kept_references: list = []

    def valid_uploads(self) -> list:
        """Uploaded images that passed, when another one failed."""
        if not self.errors.get("references"):
            return []
        return list(self.fields["references"].valid_uploads)

    def chosen_references(self) -> list[Reference]:
        """Library references to show as chips: as posted, or as a remix set them,
        and the valid uploads kept when another one failed."""
        field = self.fields["reference_ids"]
        if self.is_bound:
            posted = self.data.getlist(self.add_prefix("reference_ids"))
            ids = [i for i in posted if i.isdigit() and int(i) <= MAX_ID]  # else no row has it
            chosen = list(field.queryset.filter(pk__in=ids))
        else:
            chosen = list(self.initial.get("reference_ids") or ())
        return chosen + [r for r in self.kept_references if r not in chosen]

    def clean(self):
        cleaned = super().clean()
        count = len(cleaned.get("reference_ids") or ()) + len(cleaned.get("references") or ())
        if count > MAX_REFERENCES:
            self.add_error(
                "references",
                f"Use at most {MAX_REFERENCES} reference images in all (you have {count}).",
            )
        return cleaned

    def clean_idempotency_key(self):
        key = self.cleaned_data["idempotency_key"]
        return key if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key) else None

    def clean_prompt(self):
        prompt = self.cleaned_data["prompt"].strip()
        if not prompt:
            raise forms.ValidationError("Write a prompt: it says what to generate.")
        return prompt
