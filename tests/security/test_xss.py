"""A prompt full of markup is text everywhere it is shown: the studio card, the
gallery's update fragments, the viewer, the gallery and its search, a
collection, a share link, the review queue, and Django admin (changelist and
change page). The generation goes through the real pipeline (worker, sandbox),
so every page has a stored result to show."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from studio.gallery.services import collection_create, share_link_create
from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from tests.conftest import wait_for
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_user

PAYLOAD = (
    '"><script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
    "<svg onload=window.__xss=3></svg>'-alert(1)-'"
)
# What the payload looks like once escaped by Django (quotes included).
ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;"
RAW = ("<script>window.__xss", "<img src=x", "<svg onload", 'onerror="window')
PASSWORD = "correct horse battery"


@pytest.fixture
def landed(celery_worker):
    """A succeeded generation with the payload as its prompt, its result stored."""
    user = make_user(password=PASSWORD)
    user.is_staff = user.is_superuser = True  # also site staff, to open the admin
    user.save()
    generation = generation_create(team=user.teams.get(), user=user, prompt=PAYLOAD)
    wait_for(lambda: Generation.objects.filter(
        pk=generation.pk, status=Status.SUCCEEDED, ingested_at__isnull=False).exists(),
        message="the generation did not land")
    generation.refresh_from_db()
    return user, generation, generation.results.get()


def _pages(user, generation, result) -> dict[str, tuple[str, dict]]:
    membership = user.memberships.get()
    collection = collection_create(membership=membership, name="Boards", result=result)
    link = share_link_create(membership=membership, result=result)
    htmx = {"HX-Request": "true"}
    return {
        "studio card": ("/", {}),
        "update fragment": (f"{reverse('gallery_updates')}?cursor=0", htmx),
        "viewer (htmx)": (reverse("result_detail", args=[result.pk]), htmx),
        "viewer page": (reverse("result_detail", args=[result.pk]), {}),
        "gallery": (reverse("gallery"), {}),
        "gallery search": (f"{reverse('gallery')}?q=script", {}),
        "collection": (reverse("collection_detail", args=[collection.pk]), {}),
        "share link": (reverse("shared", args=[link.token]), {}),
        "review queue": (reverse("review_queue"), {}),
        "admin changelist": (reverse("admin:generations_generation_changelist"), {}),
        "admin change page": (
            reverse("admin:generations_generation_change", args=[generation.pk]), {}),
        "admin result page": (reverse("admin:generations_result_change", args=[result.pk]), {}),
    }


def test_the_prompt_is_escaped_on_every_page_that_shows_it(landed, client):
    user, generation, result = landed
    client.force_login(user)

    shown = []
    for name, (url, headers) in _pages(user, generation, result).items():
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        for raw in RAW:
            assert raw not in html, f"{name}: unescaped {raw!r}"
        if ESCAPED in html:
            shown.append(name)

    # Each of these shows the prompt (so the check above meant something there).
    assert set(shown) >= {
        "studio card", "update fragment", "viewer (htmx)", "viewer page", "gallery",
        "gallery search", "admin changelist", "admin change page",
    }, shown
    print("prompt shown escaped on:", ", ".join(shown))


@pytest.mark.e2e
def test_in_chromium_the_prompt_is_text_and_nothing_runs(landed, browser, live_server):
    user, generation, result = landed
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, user.get_username(), PASSWORD)

    for url in ("/", reverse("gallery"), reverse("result_detail", args=[result.pk]),
                reverse("admin:generations_generation_changelist"),
                reverse("admin:generations_generation_change", args=[generation.pk])):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, url
        injected = page.evaluate(
            "document.querySelectorAll('img[src=\"x\"], svg[onload], script:not([src])')"
            ".length - document.querySelectorAll('script[nonce]:not([src])').length"
        )
        assert injected == 0, url
    page.goto("/")
    expect(page.locator(f"#generation-{generation.pk} .card__prompt")).to_have_text(PAYLOAD)
    assert errors == []
    context.close()


def test_a_staff_member_of_another_team_sees_it_escaped_in_admin_too(landed):
    _, generation, _ = landed
    staff = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client = Client()
    client.force_login(staff)
    html = client.get(reverse("admin:generations_generation_changelist")).content.decode()
    assert ESCAPED in html and "<script>window.__xss" not in html
