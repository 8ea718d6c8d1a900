"""Member media is cached with revalidation: a browser keeps its copy but asks
each time, gets a 304 while access holds, and nothing once it is gone (issue 14, §7)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.generations.models import Reference
from studio.review.services import review_decide
from studio.teams.models import Membership
from studio.teams.services import membership_remove
from tests.fixtures.factories import png_bytes
from tests.review.conftest import State, crew, stored_generation  # noqa: F401  (crew: fixture)


@pytest.fixture
def result(crew):  # noqa: F811
    return stored_generation(crew.team, crew.creator, states=(State.PENDING,)).results.get()


def fetch(client, url, etag=None):
    headers = {"If-None-Match": etag} if etag else {}
    response = client.get(url, headers=headers)
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return response, data


@pytest.mark.parametrize("kind", ["original", "thumbnail"])
def test_a_cached_copy_is_revalidated_with_a_304(client, crew, result, kind):  # noqa: F811
    client.force_login(crew.member)
    url = reverse("result_media", args=[result.pk, kind])

    first, data = fetch(client, url)
    assert first.status_code == 200 and data
    assert first["Cache-Control"] == "private, no-cache"
    etag = first["ETag"]
    assert etag.startswith('"') and result.sha256 in etag

    again, data = fetch(client, url, etag)
    assert again.status_code == 304 and data == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "private, no-cache"
    # A stale copy (another ETag) gets the bytes.
    other, data = fetch(client, url, '"something-else"')
    assert other.status_code == 200 and data


def test_a_removed_member_loses_access_at_once(client, crew, result):  # noqa: F811
    client.force_login(crew.member)
    url = reverse("result_media", args=[result.pk, "original"])
    etag = fetch(client, url)[0]["ETag"]

    membership_remove(
        actor=Membership.objects.get(user=crew.owner),
        membership=Membership.objects.get(user=crew.member),
    )

    response, _ = fetch(client, url, etag)
    # Not a 304 that would keep the copy alive: their sessions ended with the removal
    # (issue 15's handover), so they are sent to sign in; no bytes either way.
    assert _refused(response)


def test_a_rejected_image_is_gone_for_members_at_once(client, crew, result):  # noqa: F811
    client.force_login(crew.member)
    url = reverse("result_media", args=[result.pk, "thumbnail"])
    etag = fetch(client, url)[0]["ETag"]

    review_decide(team=crew.team, actor=crew.admin, results=[result], approve=False,
                  reason="off brief")

    assert fetch(client, url, etag)[0].status_code == 404
    # Its creator still sees it, revalidated as before.
    client.force_login(crew.creator)
    assert fetch(client, url, etag)[0].status_code == 304


def test_references_are_revalidated_and_stop_for_a_removed_member(client, crew):  # noqa: F811
    from django.core.files.base import ContentFile

    reference = Reference(team=crew.team, sha256="ab" * 32, content_type="image/png",
                          width=64, height=48, bytes=10)
    reference.image.save("r.png", ContentFile(png_bytes()), save=True)
    client.force_login(crew.member)
    url = reverse("reference_media", args=[reference.pk])
    first, _ = fetch(client, url)
    assert first["Cache-Control"] == "private, no-cache"
    assert fetch(client, url, first["ETag"])[0].status_code == 304

    membership_remove(
        actor=Membership.objects.get(user=crew.owner),
        membership=Membership.objects.get(user=crew.member),
    )
    assert _refused(fetch(client, url, first["ETag"])[0])


def _refused(response) -> bool:
    """Gone for this person: a 404, or (signed out) a redirect to sign in; never bytes."""
    if response.status_code == 302:
        return response["Location"].startswith(reverse("login"))
    return response.status_code == 404
