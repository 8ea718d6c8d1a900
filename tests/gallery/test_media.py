"""Media bytes go only to members of the owning team: originals, thumbnails, references."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from studio.generations.builders import build_result, store_image
from studio.generations.models import Generation, Reference, Result, Status
from studio.teams.models import Membership
from tests.fixtures.factories import make_user, png_bytes


def store_result(team, user, *, position=0) -> tuple[Result, bytes, bytes]:
    """A succeeded generation with one stored result, as ingest leaves it."""
    original = png_bytes(size=(160, 90), color=(30, 120, 200))
    generation = Generation.objects.create(
        team=team, created_by=user, prompt="a harbour at night", status=Status.SUCCEEDED
    )
    stored = store_image(original, f"results/t{team.pk}/a")
    result = build_result(
        generation, position, stored, remote_file_id="vg_file_test", sha256="0" * 64
    )
    result.save()
    return result, original, default_storage.open(stored.thumbnail).read()


def store_reference(team) -> tuple[Reference, bytes]:
    data = png_bytes(size=(20, 40), color=(250, 200, 0), fmt="JPEG")
    reference = Reference.objects.create(
        team=team,
        image=default_storage.save("references/r.jpg", ContentFile(data)),
        sha256="1" * 64,
        content_type="image/jpeg",
        width=20,
        height=40,
        bytes=len(data),
    )
    return reference, data


def body(response) -> bytes:
    # The test client closes the file (and only the file) once the stream is read.
    return b"".join(response.streaming_content)


def media_url(result, kind, **query):
    url = reverse("result_media", args=[result.pk, kind])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def stored(team, user):
    return store_result(team, user)


# --- results ----------------------------------------------------------------------------


def test_member_gets_the_original(client_in, stored):
    result, original, _ = stored

    response = client_in.get(media_url(result, "original"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert body(response) == original
    assert response["Content-Disposition"].startswith("inline")
    assert response["Cache-Control"] == "private, max-age=86400"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_member_gets_the_thumbnail(client_in, stored):
    result, _, thumbnail = stored

    response = client_in.get(media_url(result, "thumbnail"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    data = body(response)
    assert data == thumbnail
    assert Image.open(io.BytesIO(data)).format == "WEBP"


@pytest.mark.parametrize(
    ("kind", "filename"), [("original", "1.png"), ("thumbnail", "1.webp")]
)
def test_download_is_an_attachment_with_a_readable_name(client_in, stored, kind, filename):
    result, *_ = stored

    response = client_in.get(media_url(result, kind, download=1))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="studio-{result.generation_id}-{filename}"'
    )
    body(response)


@pytest.mark.parametrize("kind", ["original", "thumbnail"])
def test_another_teams_user_gets_404(client, stored, kind):
    result, *_ = stored
    client.force_login(make_user("mallory"))

    assert client.get(media_url(result, kind)).status_code == 404
    assert client.get(media_url(result, kind, download=1)).status_code == 404


@pytest.mark.parametrize("kind", ["original", "thumbnail"])
def test_signed_out_visitor_is_sent_to_sign_in(client, stored, kind):
    result, *_ = stored
    url = media_url(result, kind)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("kind", ["large", "ORIGINAL", "image"])
def test_unknown_kind_is_404(client_in, stored, kind):
    result, *_ = stored
    assert client_in.get(media_url(result, kind)).status_code == 404


def test_unknown_result_is_404(client_in, stored):
    assert client_in.get(reverse("result_media", args=[999999, "original"])).status_code == 404


def test_a_result_not_stored_yet_is_404(client_in, team, user):
    result, *_ = store_result(team, user)
    Result.objects.filter(pk=result.pk).update(thumbnail="")

    assert client_in.get(media_url(result, "thumbnail")).status_code == 404
    assert client_in.get(media_url(result, "original")).status_code == 200


def test_membership_is_checked_on_every_request(client, stored, team):
    result, original, _ = stored
    guest = make_user("guest")
    membership = Membership.objects.create(team=team, user=guest, role=Membership.Role.VIEWER)
    client.force_login(guest)

    # A viewer of the team may look (and the team need not be the current one).
    assert body(client.get(media_url(result, "original"))) == original

    membership.delete()
    assert client.get(media_url(result, "original")).status_code == 404


def test_only_get_is_allowed(client_in, stored):
    result, *_ = stored
    assert client_in.post(media_url(result, "original")).status_code == 405


# --- references --------------------------------------------------------------------------


def test_member_gets_a_reference(client_in, team):
    reference, data = store_reference(team)

    response = client_in.get(reverse("reference_media", args=[reference.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert body(response) == data
    assert response["Cache-Control"] == "private, max-age=86400"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_teams_user_gets_404_for_a_reference(client, team):
    reference, _ = store_reference(team)
    client.force_login(make_user("mallory"))

    assert client.get(reverse("reference_media", args=[reference.pk])).status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in_for_a_reference(client, team):
    reference, _ = store_reference(team)
    url = reverse("reference_media", args=[reference.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_unknown_reference_is_404(client_in):
    assert client_in.get(reverse("reference_media", args=[424242])).status_code == 404


# --- through a share link (gallery app) ------------------------------------------------------


def shared_media_url(link, result, kind):
    return reverse("shared_media", args=[link.token, result.pk, kind])


@pytest.fixture
def shared(team, user, stored):
    from studio.gallery.models import Collection, CollectionItem, ShareLink

    result, original, thumbnail = stored
    collection = Collection.objects.create(team=team, name="Shared", created_by=user)
    CollectionItem.objects.create(collection=collection, result=result)
    link = ShareLink.objects.create(team=team, collection=collection, created_by=user)
    return link, result, original, thumbnail


@pytest.mark.parametrize("kind", ["original", "thumbnail"])
def test_a_valid_link_gives_the_bytes_to_anyone_and_nothing_is_cached(client, shared, kind):
    link, result, original, thumbnail = shared

    response = client.get(shared_media_url(link, result, kind))

    assert response.status_code == 200
    assert body(response) == (original if kind == "original" else thumbnail)
    assert response["Cache-Control"] == "no-store"  # revoking must stop it at once
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_a_revoked_or_expired_link_gives_nothing(client, shared):
    from django.utils import timezone

    link, result, *_ = shared
    url = shared_media_url(link, result, "original")
    assert client.get(url).status_code == 200

    type(link).objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    assert client.get(url).status_code == 404

    type(link).objects.filter(pk=link.pk).update(revoked_at=None, expires_at=timezone.now())
    assert client.get(url).status_code == 404


def test_a_link_opens_only_its_own_images(client, shared, team, user):
    link, _, _, _ = shared
    other, *_ = store_result(team, user, position=1)
    stranger = make_user("stranger")
    theirs, *_ = store_result(stranger.teams.get(), stranger)

    assert client.get(shared_media_url(link, other, "original")).status_code == 404
    assert client.get(shared_media_url(link, theirs, "original")).status_code == 404
    assert client.get(media_url(other, "original")).status_code == 302  # members' URL: sign in


def test_a_download_through_a_link_has_a_readable_name(client, shared):
    link, result, *_ = shared

    response = client.get(shared_media_url(link, result, "original") + "?download=1")

    assert response["Content-Disposition"] == (
        f'attachment; filename="studio-{result.generation_id}-1.png"'
    )
    body(response)
