from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from studio.forms import PlainLabels


class SignupForm(PlainLabels, UserCreationForm):
    pass


class LoginForm(PlainLabels, AuthenticationForm):
    pass
