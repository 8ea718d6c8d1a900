from django.contrib.auth.forms import AuthenticationForm, UserCreationForm


class PlainLabels:
    """Labels without Django's trailing colon, as everywhere in Studio."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(PlainLabels, UserCreationForm):
    pass


class LoginForm(PlainLabels, AuthenticationForm):
    pass
