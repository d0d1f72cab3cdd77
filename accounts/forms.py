"""Dashboard forms. They validate shape; accounts.services decides what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from prixagent.throttling import login_attempt


class SignupForm(forms.Form):
    account_name = forms.CharField(
        label=_("Business name"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "organization", "autofocus": True}),
    )
    name = forms.CharField(
        label=_("Your name"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(label=_("Email"), max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters; avoid common passwords."),
    )


class EmailAuthenticationForm(AuthenticationForm):
    """Log in by email, with the API's per-email and per-IP attempt limit."""

    username = forms.EmailField(
        label=_("Email"),
        max_length=255,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Enter a correct email and password."),
        "throttled": _("Too many attempts. Wait a few minutes and try again."),
    }

    def clean(self) -> dict[str, Any]:
        # Checked before the password, so a locked-out attacker learns nothing more.
        self.verdict = login_attempt(request=self.request, email=str(self.data.get("username", "")))
        if not self.verdict:
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        return super().clean()

    @property
    def is_throttled(self) -> bool:
        return any(error.code == "throttled" for error in self.errors.as_data().get("__all__", []))


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


ROLE_CHOICES = User.Role.choices


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=255, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    name = forms.CharField(label=_("Name"), max_length=255, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, initial=User.Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class InvitationAcceptForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"), max_length=255, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters; avoid common passwords."),
    )
    password_again = forms.CharField(
        label=_("Password (again)"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return cleaned
