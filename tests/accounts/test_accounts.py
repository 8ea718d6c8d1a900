"""Email at sign-up or on the account page, password change, password reset by
email, sign-in throttling (django-axes) and the sign-up limit (issue 14, §3)."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail
from django.urls import reverse

from tests.fixtures.factories import make_user

User = get_user_model()
PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"


def sign_in(client, username="alice", password=PASSWORD, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


# --- email and password on the account page ---------------------------------------------------


def test_signup_takes_an_optional_email(client, db):
    response = client.post(reverse("signup"), {
        "username": "bea", "email": "bea@example.com", "password1": NEW, "password2": NEW,
    })
    assert response.status_code == 302
    assert User.objects.get(username="bea").email == "bea@example.com"
    client.logout()
    response = client.post(reverse("signup"), {
        "username": "cy", "password1": NEW, "password2": NEW,
    })
    assert response.status_code == 302
    assert User.objects.get(username="cy").email == ""


def test_account_page_sets_the_email(client_in, user):
    page = client_in.get(reverse("account"))
    assert page.status_code == 200
    assert b">Email address</label>" in page.content
    response = client_in.post(reverse("account"), {"form": "email", "email": "a@example.com"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "a@example.com"
    bad = client_in.post(reverse("account"), {"form": "email", "email": "not an address"})
    assert bad.status_code == 200 and b"valid email address" in bad.content


def test_account_page_changes_the_password_and_keeps_this_session(client_in, user):
    wrong = client_in.post(reverse("account"), {
        "form": "password", "old_password": "nope", "new_password1": NEW, "new_password2": NEW,
    })
    assert b"Your old password was entered incorrectly" in wrong.content
    response = client_in.post(reverse("account"), {
        "form": "password", "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW,
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert client_in.get(reverse("studio")).status_code == 200  # still signed in


# --- password reset ----------------------------------------------------------------------------


def test_password_reset_by_email_end_to_end(client, user):
    user.email = "alice@example.com"
    user.save()
    login_page = client.get(reverse("login"))
    assert reverse("password_reset").encode() in login_page.content

    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password-reset/\S+/)", mail.outbox[0].body)[1]

    form = client.get(link, follow=True)  # Django swaps the token for a session one first
    assert b"Choose a new password" in form.content
    response = client.post(form.redirect_chain[-1][0],
                           {"new_password1": NEW, "new_password2": NEW})
    assert response["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW)
    # The link works once.
    again = client.get(link, follow=True)
    assert b"This link no longer works" in again.content
    assert sign_in(client, password=NEW).status_code == 302


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, user):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_client_address_behind_trusted_proxies(rf, settings):
    from studio.accounts.throttle import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4")
    assert client_ip(request) == "10.0.0.9"  # no proxy trusted: the forged header is ignored
    settings.STUDIO_TRUSTED_PROXIES = 1
    assert client_ip(request) == "1.2.3.4"  # what our proxy saw, not what the client wrote


# --- sign-in throttling ------------------------------------------------------------------------


def test_repeated_failures_for_a_username_lock_it_even_with_the_right_password(client, user):
    for attempt in range(5):  # AXES_FAILURE_LIMIT, from different addresses
        response = sign_in(client, password="wrong", ip=f"10.0.1.{attempt}")
        assert response.status_code in (200, 429)
    response = sign_in(client, password=PASSWORD, ip="10.0.2.1")
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert b"try again in 15 minutes" in response.content
    assert SESSION_KEY not in client.session


def test_repeated_failures_from_an_address_lock_it_for_every_username(client, user):
    make_user("bob")
    for index in range(5):
        sign_in(client, username=f"guess{index}", password="wrong", ip="10.0.3.3")
    response = sign_in(client, username="bob", password=PASSWORD, ip="10.0.3.3")
    assert response.status_code == 429
    # Another address and another account are not affected.
    assert sign_in(client, username="bob", password=PASSWORD, ip="10.0.3.4").status_code == 302


def test_a_few_failures_then_the_right_password_signs_in(client, user):
    for _ in range(3):
        assert sign_in(client, password="wrong").status_code == 200
    assert sign_in(client, password=PASSWORD).status_code == 302


def test_staff_see_and_lift_a_lockout_in_the_admin(client, user):
    for _ in range(6):
        sign_in(client, password="wrong", ip="10.0.4.4")
    assert sign_in(client, ip="10.0.4.5").status_code == 429
    staff = User.objects.create_superuser("root", password="staff passphrase")
    admin = type(client)()
    admin.force_login(staff)
    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and b"alice" in listing.content
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = admin.post(reverse("admin:axes_accessattempt_changelist"), {
        "action": "delete_selected", "_selected_action": attempts, "post": "yes",
    })
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, ip="10.0.4.5").status_code == 302


# --- sign-up limit per address -----------------------------------------------------------------


@pytest.mark.django_db
def test_signups_are_limited_per_address(client, settings):
    settings.STUDIO_SIGNUP_LIMIT = 3
    ip = "10.9.9.9"
    for index in range(3):
        client.logout()
        response = client.post(reverse("signup"), {
            "username": f"new{index}", "password1": NEW, "password2": NEW,
        }, REMOTE_ADDR=ip)
        assert response.status_code == 302
    client.logout()
    response = client.post(reverse("signup"), {
        "username": "new9", "password1": NEW, "password2": NEW,
    }, REMOTE_ADDR=ip)
    assert response.status_code == 429
    assert b"Too many sign-ups from your network" in response.content
    assert not User.objects.filter(username="new9").exists()
    # Another address still signs up.
    response = client.post(reverse("signup"), {
        "username": "new9", "password1": NEW, "password2": NEW,
    }, REMOTE_ADDR="10.9.9.10")
    assert response.status_code == 302
