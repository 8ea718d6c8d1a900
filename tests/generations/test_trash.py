"""Delete, the Trash, restore and purge: who may, what disappears where, what the log says."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.generations import services
from studio.generations.models import Generation, Result
from studio.teams.models import Membership
from tests.fixtures.factories import make_member as member_of
from tests.gallery.factories import make_results, make_share_link, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(db):
    from tests.fixtures.factories import make_user

    owner = make_user("olga")
    team = owner.teams.get()
    maker = member_of(team, "member", "mia")
    other = member_of(team, "member", "noor")
    admin = member_of(team, "admin", "ada")
    results = make_results(team, maker, 3, prompt="a lighthouse on a cliff")
    Generation.objects.filter(pk=results[0].generation_id).update(ingested_at=timezone.now())
    return team, maker, other, admin, results


def _client(user, team):
    return sign_in(Client(), user, team)


def test_the_creator_deletes_a_generation_and_it_leaves_every_view(world):
    team, maker, other, admin, results = world
    generation = results[0].generation
    link = make_share_link(team, maker, result=results[0])
    watcher = _client(other, team)
    cursor = type(team).objects.get(pk=team.pk).change_seq

    response = _client(maker, team).post(reverse("generation_delete", args=[generation.pk]), **HTMX)

    assert response.status_code == 200
    assert "Moved to the Trash" in response["HX-Trigger"]
    # Every member's open studio drops the card on its next update.
    update = watcher.get(reverse("gallery_updates"), {"cursor": cursor}, **HTMX)
    assert f'id="generation-{generation.pk}" hx-swap-oob="delete"' in update.content.decode()
    assert f"generation-{generation.pk}" not in watcher.get(reverse("studio")).content.decode()
    # ... and an open gallery drops its tiles on its next poll.
    news = watcher.get(reverse("gallery_news"), {"seq": cursor}, **HTMX)
    gone = json.loads(news["HX-Trigger"])["gallery:deleted"]["ids"]
    assert sorted(gone) == sorted(r.pk for r in results)
    gallery = watcher.get(reverse("gallery")).content.decode()
    assert f"tile-{results[0].pk}" not in gallery
    assert watcher.get(reverse("gallery"), {"q": "lighthouse"}).content.decode().count("tile-") == 0
    zip_url = reverse("results_zip") + f"?ids={results[0].pk}"
    assert watcher.get(zip_url).status_code == 404
    media = reverse("result_media", args=[results[0].pk, "original"])
    assert watcher.get(media).status_code == 404
    assert Client().get(reverse("shared", args=[link.token])).status_code in (404, 410)
    # ... and it is in the Trash, with who deleted it, for every member to see.
    trash = watcher.get(reverse("trash")).content.decode()
    assert "a lighthouse on a cliff" in trash and "mia" in trash
    entry = AuditEntry.objects.get(team_id=team.pk, action="generation.delete")
    assert entry.actor_id == maker.pk and entry.target_id == str(generation.pk)


def test_only_the_creator_or_an_admin_may_delete_or_restore(world):
    team, maker, other, admin, results = world
    generation = results[0].generation

    refused = _client(other, team).post(reverse("generation_delete", args=[generation.pk]))
    assert refused.status_code == 403
    assert Generation.objects.get(pk=generation.pk).deleted_at is None
    assert (
        _client(admin, team).post(reverse("generation_delete", args=[generation.pk])).status_code
        == 302
    )
    assert Generation.objects.get(pk=generation.pk).deleted_at is not None

    restore = reverse("generation_restore", args=[generation.pk])
    assert _client(other, team).post(restore).status_code == 403
    assert _client(maker, team).post(restore).status_code == 302
    assert Generation.objects.get(pk=generation.pk).deleted_at is None
    assert (
        f"generation-{generation.pk}"
        in _client(other, team).get(reverse("studio")).content.decode()
    )
    actions = list(AuditEntry.objects.filter(team_id=team.pk).values_list("action", flat=True))
    assert "generation.delete" in actions and "generation.restore" in actions


def test_one_image_deleted_leaves_the_card_and_comes_back(world):
    team, maker, other, admin, results = world
    gone = results[1]
    maker_client = _client(maker, team)

    assert maker_client.post(reverse("result_delete", args=[gone.pk]), **HTMX).status_code == 200

    card = maker_client.get(reverse("studio")).content.decode()
    assert reverse("result_detail", args=[results[0].pk]) in card
    assert reverse("result_detail", args=[gone.pk]) not in card
    assert maker_client.get(reverse("result_detail", args=[gone.pk])).status_code == 404
    assert (
        reverse("trash_media", args=[gone.pk])
        in maker_client.get(reverse("trash")).content.decode()
    )
    assert maker_client.get(reverse("trash_media", args=[gone.pk])).status_code == 200

    assert maker_client.post(reverse("result_restore", args=[gone.pk])).status_code == 302
    assert (
        reverse("result_detail", args=[gone.pk])
        in maker_client.get(reverse("studio")).content.decode()
    )
    actions = set(AuditEntry.objects.filter(team_id=team.pk).values_list("action", flat=True))
    assert {"result.delete", "result.restore"} <= actions


def test_purge_takes_what_is_past_30_days_files_included(world, django_capture_on_commit_callbacks):
    team, maker, other, admin, results = world
    membership = Membership.objects.get(team=team, user=maker)
    old_generation = results[0].generation
    services.generation_delete(generation=old_generation, membership=membership, user=maker)
    recent = make_results(team, maker, 1, prompt="kept a while")[0]
    services.result_delete(result=recent, membership=membership, user=maker)
    files = [results[0].image.name, results[0].thumbnail.name]
    assert all(default_storage.exists(name) for name in files)
    Generation.objects.filter(pk=old_generation.pk).update(
        deleted_at=timezone.now() - timedelta(days=31)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.trash_purge() == 3
    assert services.trash_purge() == 0  # a second run finds nothing

    assert not Generation.objects.filter(pk=old_generation.pk).exists()
    assert not Result.all_objects.filter(generation_id=old_generation.pk).exists()
    assert Result.all_objects.filter(pk=recent.pk).exists()  # 0 days in the Trash: kept
    assert AuditEntry.objects.filter(team_id=team.pk, action="generation.purge").count() == 1
    # The files went too, once the transaction committed.
    assert not any(default_storage.exists(name) for name in files)
    assert default_storage.exists(recent.image.name)
