from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    UserCreationForm,
)

from studio.forms import PlainLabels

EMAIL_HELP = "Optional. Used only to reset your password if you forget it."


class SignupForm(PlainLabels, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
        help_texts = {"email": EMAIL_HELP}


class LoginForm(PlainLabels, AuthenticationForm):
    pass


class EmailForm(PlainLabels, forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ("email",)
        help_texts = {"email": EMAIL_HELP}


class PasswordForm(PlainLabels, PasswordChangeForm):
    pass


class ResetForm(PlainLabels, PasswordResetForm):
    pass


class NewPasswordForm(PlainLabels, SetPasswordForm):
    pass
