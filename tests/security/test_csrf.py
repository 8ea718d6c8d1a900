"""Every POST without a CSRF token is refused with 403, on every URL Studio has
(taken from the URLconf, so a new view cannot be forgotten), and on each
hx-post the pages actually render. The only exception is the webhook
receiver, which VideoGen signs instead."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from studio.generations.models import Generation, Result, Status
from tests.fixtures.factories import make_user

HTMX = {"HX-Request": "true"}
# Signed by VideoGen with Standard Webhooks instead (tests/webhooks).
CSRF_EXEMPT = {"webhook_receive"}
SAMPLE_ARGS = {
    "int": "1",
    "slug": "abc",
    "str": "upscale_image",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def studio_urls() -> list[tuple[str, str]]:
    """(name, path) of every URL pattern outside Django admin, with sample arguments."""
    found = []

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route.startswith("admin/"):
                    continue
                walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern):
                path = re.sub(
                    r"<(?:(\w+):)?\w+>",
                    lambda m: SAMPLE_ARGS[m.group(1) or "str"],
                    prefix + route,
                )
                found.append((entry.name, "/" + path))

    walk(get_resolver().url_patterns)
    return found


URLS = studio_urls()


def test_the_urlconf_was_read():
    names = {name for name, _ in URLS}
    assert {"generation_create", "generation_cancel", "gallery_updates", "review_decide",
            "favourite_toggle", "team_rename", "webhook_receive"} <= names
    assert len(URLS) > 40


@pytest.fixture
def signed_in(db):
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client, user


def _is_csrf_failure(response) -> bool:
    return response.status_code == 403 and b"CSRF verification failed" in response.content


@pytest.mark.parametrize(("name", "path"), URLS, ids=[name for name, _ in URLS])
def test_post_without_token_is_refused(signed_in, name, path):
    client, _ = signed_in

    response = client.post(path, {"prompt": "x"}, headers=HTMX)

    if name in CSRF_EXEMPT:
        assert not _is_csrf_failure(response)
    else:
        assert _is_csrf_failure(response), (path, response.status_code)


@pytest.mark.parametrize(("name", "path"), URLS, ids=[name for name, _ in URLS])
def test_the_same_post_with_the_token_gets_past_the_check(db, name, path):
    """The control: the 403 above comes from the missing token, nothing else."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    client.get(reverse("studio"))
    token = client.cookies["csrftoken"].value

    response = client.post(path, {"prompt": "x"}, headers={**HTMX, "X-CSRFToken": token})

    assert not _is_csrf_failure(response), path


def test_every_hx_post_on_the_pages_needs_the_token(signed_in):
    client, user = signed_in
    team = user.teams.get()
    done = Generation.objects.create(team=team, created_by=user, prompt="p",
                                     status=Status.FAILED, error_message="no")
    Generation.objects.create(team=team, created_by=user, prompt="q", status=Status.RUNNING)
    Result.objects.create(team=team, generation=done, position=0, remote_file_id="vg_file_1")

    hx_posts = set()
    for page in ("/", reverse("gallery"), reverse("team_settings"), reverse("review_queue")):
        html = client.get(page).content.decode()
        hx_posts |= set(re.findall(r'hx-post="([^"]+)"', html))

    assert len(hx_posts) >= 3, hx_posts
    print("hx-post URLs checked:", ", ".join(sorted(hx_posts)))
    for url in sorted(hx_posts):
        assert _is_csrf_failure(client.post(url, {}, headers=HTMX)), url
