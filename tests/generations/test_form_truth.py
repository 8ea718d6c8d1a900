"""The form tells the truth: what the account allows, what a remix changes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.generations.models import Generation, Status, VideoGenAccount
from studio.generations.services import generation_create
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

HTMX = {"HTTP_HX_REQUEST": "true"}


def _finished(generation):
    generation.refresh_from_db()
    return generation.status in (Status.FAILED, Status.SUCCEEDED) and (
        generation.status == Status.FAILED or generation.ingested_at
    )


def test_a_403_on_no_watermark_is_learned_and_the_form_stops_offering_it(
    celery_worker, client
):
    user = make_user()
    team = user.teams.get()
    client.force_login(user)
    page = client.get(reverse("studio")).content.decode()
    assert '<option value="NONE">No watermark</option>' in page  # not known yet: offered

    generation = generation_create(team=team, user=user, prompt="clean", watermark_mode="NONE")
    wait_for(lambda: _finished(generation))

    assert generation.status == Status.FAILED
    assert VideoGenAccount.current().has_production_addon is False
    page = client.get(reverse("studio")).content.decode()
    assert '<option value="NONE" disabled>No watermark</option>' in page
    assert "lacks the Production add-on" in page
    # The failed card does not offer the same impossible settings again.
    card = page[page.index(f'id="generation-{generation.pk}"'):]
    card = card[: card.index("</article>")]
    assert "Try again" not in card and "Use these settings" in card
    # And the form refuses it if posted anyway.
    response = client.post(
        reverse("generation_create"),
        {"prompt": "again", "aspect_ratio": "1:1", "num_results": 1, "watermark_mode": "NONE"},
        **HTMX,
    )
    assert "lacks the Production add-on" in response.content.decode()
    assert Generation.objects.count() == 1


@pytest.mark.django_db
def test_staff_can_say_the_account_has_the_add_on(admin_client):
    VideoGenAccount.learn_production_addon(False)
    account = VideoGenAccount.current()
    url = reverse("admin:generations_videogenaccount_change", args=[account.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"has_production_addon": "true", "note": "bought it"})
    assert VideoGenAccount.current().has_production_addon is True


@pytest.mark.django_db
def test_remix_merges_keeps_the_chosen_references_and_says_what_changed(client):
    user = make_user()
    team = user.teams.get()
    client.force_login(user)
    past = Generation.objects.create(
        team=team, created_by=user, prompt="a kite over dunes", aspect_ratio="9:16",
        num_results=3, status=Status.SUCCEEDED, watermark_mode="NONE",
    )
    VideoGenAccount.learn_production_addon(False)

    response = client.get(
        reverse("generation_remix", args=[past.pk]),
        {"prompt": "something else", "aspect_ratio": "16:9", "num_results": "3",
         "watermark_mode": "AUTO"},
        **HTMX,
    )

    html = response.content.decode()
    assert "a kite over dunes</textarea>" in html
    assert "Aspect ratio: 9:16" in html
    notice = html.split("The form now has the settings of")[1].split("</ul>")[0]
    assert "Number of results" not in notice
    assert "Watermark: automatic (this account lacks the Production add-on)." in html
    assert '<option value="AUTO" selected>' in html


@pytest.mark.django_db
def test_waiting_states_say_what_is_happening(client):
    from studio.generations import pipeline
    from studio.videogen.errors import ServerError

    user = make_user()
    team = user.teams.get()
    client.force_login(user)
    waiting = Generation.objects.create(
        team=team, created_by=user, prompt="retried", status=Status.PENDING
    )
    pipeline._note_retry(waiting, ServerError("bad gateway", status=502), 8)
    saving = Generation.objects.create(
        team=team, created_by=user, prompt="saving", status=Status.SUCCEEDED, num_results=4
    )

    page = client.get(reverse("studio")).content.decode()

    assert "Retrying — VideoGen answered 502, next try <time" in page
    assert "data-countdown" in page
    card = page[page.index(f'id="generation-{saving.pk}"'):]
    card = card[: card.index("</article>")]
    assert "Saving images (0 of 4)" in card
    assert "badge--succeeded" not in card  # no green badge before there is an image


@pytest.mark.django_db
def test_prompt_history_is_the_members_own_last_prompts(client):
    user, other = make_user(), make_user()
    team = user.teams.get()
    for prompt in ["first", "second", "first", "third"]:
        Generation.objects.create(team=team, created_by=user, prompt=prompt)
    Generation.objects.create(team=team, created_by=other, prompt="not mine")
    client.force_login(user)

    html = client.get(reverse("prompt_history"), **HTMX).content.decode()

    items = [line.split(">")[1].split("<")[0] for line in html.split("data-use-prompt")[1:]]
    assert items == ["third", "first", "second"]
    assert "not mine" not in html


@pytest.mark.django_db
def test_use_these_settings_on_every_card_and_in_the_viewer(client):
    from studio.generations.models import Tool
    from studio.teams.models import Role
    from tests.fixtures.factories import make_member
    from tests.gallery.factories import make_edit, make_result, sign_in

    user = make_user()
    team = user.teams.get()
    source = make_result(team, user, prompt="a kite over dunes", aspect_ratio="9:16")
    upscale = make_edit(source, user, Tool.UPSCALE_IMAGE)[0]
    client.force_login(user)
    remix = reverse("generation_remix", args=[source.generation_id])

    card = client.get(reverse("studio")).content.decode()
    assert f'href="{remix}"' in card and ">Use these settings</a>" in card
    # In the viewer, of the image and of its upscale: the first generation's settings.
    for result in (source, upscale):
        viewer = client.get(reverse("result_detail", args=[result.pk]), **HTMX).content.decode()
        link = f'<a class="button" href="{remix}" data-use-settings>Use these settings</a>'
        assert link in viewer
    # Followed from the gallery (no form there), it opens the studio with them.
    page = client.get(remix).content.decode()
    assert "a kite over dunes</textarea>" in page and '<option value="9:16" selected>' in page
    # A viewer, who cannot generate, is not offered it.
    sign_in(client, make_member(team, Role.VIEWER, "vi"), team)
    viewer = client.get(reverse("result_detail", args=[source.pk]), **HTMX).content.decode()
    assert "data-use-settings" not in viewer
