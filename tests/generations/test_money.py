"""Who may spend the team's money, and how often (issue 14, §6): one generation
and one paid execution per form, however it is posted; only a generation's
creator or an admin cancels or resubmits it; a member's monthly limit beside
the team's quota, both held by one reservation under racing submits."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.generations.quota import Month, images_used
from studio.teams.models import Membership
from tests.conftest import wait_for
from tests.review.conftest import (  # noqa: F401  (crew, as_user: fixtures)
    HTMX,
    Crew,
    as_user,
    crew,
    make_member,
    set_policy,
)

FORM = {"prompt": "a lighthouse at dawn", "aspect_ratio": "1:1", "num_results": "1",
        "watermark_mode": "AUTO"}
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')


def form_key(client) -> str:
    """The key the studio page's form carries, as a browser would post it."""
    return KEY.search(client.get(reverse("studio")).content.decode())[1]


def post_in_parallel(clients, data, url=None) -> list:
    """Each client posts `data` at the same moment, from its own thread and connection."""
    start = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)
    errors: list = []

    def post(index):
        try:
            start.wait(timeout=10)
            responses[index] = clients[index].post(
                url or reverse("generation_create"), data, **HTMX
            )
        except Exception as exc:  # a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return responses


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- double submits -----------------------------------------------------------------------


def test_the_same_form_posted_twice_in_parallel_makes_one_generation_and_one_execution(
    settings, sandbox_factory, celery_worker
):
    box = sandbox_factory("--pending-seconds", "0.2", "--running-seconds", "0.4")
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.VIDEOGEN_API_KEY = box.api_key
    crew = Crew()  # noqa: F811
    first, second = signed_in(crew.creator), signed_in(crew.creator)
    data = {**FORM, "idempotency_key": form_key(first)}

    responses = post_in_parallel([first, second], data)

    assert [r.status_code for r in responses] == [200, 200]
    assert Generation.objects.filter(team=crew.team).count() == 1
    generation = Generation.objects.get(team=crew.team)
    wait_for(lambda: Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED,
             timeout=30, message=lambda: f"not finished: {box.stats()['executions']}")
    assert Generation.objects.filter(team=crew.team).count() == 1
    assert box.stats()["executions"] == {"GENERATE_IMAGE": 1}
    # Each answer carries a fresh form with a new key: the next post is a new request.
    keys = {KEY.search(r.content.decode())[1] for r in responses}
    assert len(keys) == 2 and data["idempotency_key"] not in keys


def test_a_double_click_makes_one_generation_and_a_new_form_makes_another(crew, as_user):  # noqa: F811
    client = as_user(crew.creator)
    data = {**FORM, "idempotency_key": form_key(client)}

    first = client.post(reverse("generation_create"), data, **HTMX)
    again = client.post(reverse("generation_create"), data, **HTMX)

    assert first.status_code == again.status_code == 200
    assert Generation.objects.filter(team=crew.team).count() == 1
    fresh = KEY.search(first.content.decode())[1]
    client.post(reverse("generation_create"), {**FORM, "idempotency_key": fresh}, **HTMX)
    assert Generation.objects.filter(team=crew.team).count() == 2


def test_the_key_is_unique_per_team_in_the_database(crew):  # noqa: F811
    from studio.teams.models import Team

    other_team = Team.objects.create(name="Other")
    other_user = make_member(other_team, "member", "otto", personal_team=False)
    fields = {"prompt": "p", "idempotency_key": "k" * 32}
    Generation.objects.create(team=crew.team, created_by=crew.creator, **fields)
    Generation.objects.create(team=other_team, created_by=other_user, **fields)  # fine
    Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="no key")
    Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="no key")
    with pytest.raises(IntegrityError), transaction.atomic():
        Generation.objects.create(team=crew.team, created_by=crew.member, **fields)


def test_a_malformed_key_is_ignored_not_refused(crew, as_user):  # noqa: F811
    client = as_user(crew.creator)
    for _ in range(2):
        client.post(reverse("generation_create"), {**FORM, "idempotency_key": "not a key!"}, **HTMX)
    assert Generation.objects.filter(team=crew.team).count() == 2


def test_try_again_pressed_twice_makes_one_new_generation(crew, as_user):  # noqa: F811
    failed = Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="p",
                                       status=Status.FAILED)
    client = as_user(crew.creator)
    url = reverse("generation_resubmit", args=[failed.pk])

    responses = [client.post(url, **HTMX) for _ in range(2)]

    assert Generation.objects.filter(team=crew.team).count() == 2  # the failed one and one new
    assert "already submitted again" in responses[1]["HX-Trigger"]


# --- ownership: role × action -------------------------------------------------------------

ROLES = ["owner", "admin", "creator", "member", "viewer"]
MANAGERS = {"owner", "admin", "creator"}


def _cancel(crew, client):  # noqa: F811
    running = Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="p",
                                        status=Status.RUNNING)
    response = client.post(reverse("generation_cancel", args=[running.pk]), **HTMX)
    return response, Generation.objects.get(pk=running.pk).status == Status.CANCELLED


def _resubmit(crew, client):  # noqa: F811
    failed = Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="again",
                                       status=Status.FAILED)
    response = client.post(reverse("generation_resubmit", args=[failed.pk]), **HTMX)
    return response, Generation.objects.filter(prompt="again").count() == 2


ACTIONS = {"cancel": _cancel, "resubmit": _resubmit}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_only_the_creator_or_an_admin_may(crew, as_user, role, action):  # noqa: F811
    client = as_user(crew.people()[role])

    response, happened = ACTIONS[action](crew, client)

    if role in MANAGERS:
        assert response.status_code == 200, (role, action)
        assert happened, f"{role} should be able to {action}"
    else:
        assert response.status_code == 403, (role, action, response.status_code)
        assert not happened, f"{role} must not be able to {action}"
        if role == "member":  # told why, as a toast
            assert "Only whoever made this generation" in response["HX-Trigger"]


@pytest.mark.parametrize("role", ROLES)
def test_the_card_offers_cancel_and_try_again_only_to_who_may(crew, as_user, role):  # noqa: F811
    Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="p",
                              status=Status.RUNNING)
    Generation.objects.create(team=crew.team, created_by=crew.creator, prompt="p",
                              status=Status.FAILED)
    html = as_user(crew.people()[role]).get(reverse("studio")).content.decode()
    assert (">Cancel</button>" in html) == (role in MANAGERS)
    assert (">Try again</button>" in html) == (role in MANAGERS)


@pytest.mark.parametrize("role", ["owner", "admin", "creator", "member"])
def test_a_remix_is_the_remixers_own_never_a_resubmit_of_the_original(crew, as_user, role):  # noqa: F811
    """Remix fills the form; posting it makes a generation of the remixer's own,
    counted against their limit. It cannot act on the original."""
    original = Generation.objects.create(team=crew.team, created_by=crew.creator,
                                         prompt="remix me", status=Status.FAILED)
    me = crew.people()[role]
    client = as_user(me)
    page = client.get(reverse("generation_remix", args=[original.pk]), **HTMX)
    assert page.status_code == 200 and "remix me" in page.content.decode()
    Membership.objects.filter(team=crew.team, user=me).update(monthly_image_limit=0)

    refused = client.post(reverse("generation_create"), {**FORM, "prompt": "remix me"}, **HTMX)

    assert "limit set by the team" in refused.content.decode()
    Membership.objects.filter(team=crew.team, user=me).update(monthly_image_limit=None)
    client.post(reverse("generation_create"), {**FORM, "prompt": "remix me"}, **HTMX)
    made = Generation.objects.filter(prompt="remix me").exclude(pk=original.pk).get()
    assert made.created_by == me
    original.refresh_from_db()
    assert original.status == Status.FAILED and original.created_by == crew.creator


def test_the_viewer_cannot_remix_into_a_generation(crew, as_user):  # noqa: F811
    client = as_user(crew.viewer)
    response = client.post(reverse("generation_create"), FORM, **HTMX)
    assert response.status_code == 403
    assert not Generation.objects.exists()


# --- a member's monthly limit beside the team's quota -------------------------------------


def member_of(crew, user):  # noqa: F811
    return Membership.objects.get(team=crew.team, user=user)


def test_an_admin_sets_a_members_limit_on_the_team_page(crew, as_user):  # noqa: F811
    target = member_of(crew, crew.member)
    client = as_user(crew.admin)
    page = client.get(reverse("team_settings")).content.decode()
    assert f'id="limit-{target.pk}"' in page

    client.post(reverse("member_limit", args=[target.pk]), {"monthly_image_limit": "7"}, **HTMX)
    target.refresh_from_db()
    assert target.monthly_image_limit == 7
    client.post(reverse("member_limit", args=[target.pk]), {"monthly_image_limit": ""}, **HTMX)
    target.refresh_from_db()
    assert target.monthly_image_limit is None


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_cannot_set_limits(crew, as_user, role):  # noqa: F811
    target = member_of(crew, crew.creator)
    response = as_user(crew.people()[role]).post(
        reverse("member_limit", args=[target.pk]), {"monthly_image_limit": "1000"}, **HTMX
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.monthly_image_limit is None


def test_an_admin_cannot_limit_an_owner(crew, as_user):  # noqa: F811
    owner = member_of(crew, crew.owner)
    response = as_user(crew.admin).post(
        reverse("member_limit", args=[owner.pk]), {"monthly_image_limit": "1"}, **HTMX
    )
    assert response.status_code == 403


def test_a_request_over_the_members_limit_is_refused_with_a_message(crew, as_user):  # noqa: F811
    Membership.objects.filter(pk=member_of(crew, crew.creator).pk).update(monthly_image_limit=5)
    client = as_user(crew.creator)
    client.post(reverse("generation_create"), {**FORM, "num_results": "4"}, **HTMX)

    html = client.post(reverse("generation_create"), {**FORM, "num_results": "2"},
                       **HTMX).content.decode()

    assert "This needs 2 images but only 1 of your 5 this month is left" in html
    assert Generation.objects.filter(created_by=crew.creator).count() == 1
    # A teammate without a limit of their own is not held back by it.
    as_user(crew.member).post(reverse("generation_create"), {**FORM, "num_results": "9"}, **HTMX)
    assert Generation.objects.filter(created_by=crew.member).count() == 1


def test_twenty_racing_submits_overdraw_neither_the_team_nor_the_member(transactional_db):
    """Ten threads of one member (limit 10) and ten of teammates, 3 images each, at
    once, against a team quota of 36: the member ends at 9, the team at 36."""
    crew = Crew()  # noqa: F811
    set_policy(crew.team, monthly_image_quota=36)
    limited = make_member(crew.team, "member", "lim", personal_team=False)
    Membership.objects.filter(team=crew.team, user=limited).update(monthly_image_limit=10)
    others = [make_member(crew.team, "member", f"o{i:02d}", personal_team=False) for i in range(10)]
    clients = [signed_in(limited) for _ in range(10)] + [signed_in(u) for u in others]

    responses = post_in_parallel(clients, {**FORM, "num_results": "3"})

    assert all(r.status_code == 200 for r in responses)
    month = Month.current()
    member_used = images_used(team_id=crew.team.pk, month=month, user_id=limited.pk)
    team_used = images_used(team_id=crew.team.pk, month=month)
    assert member_used <= 10 and team_used <= 36
    assert member_used == 9 or team_used == 36
    assert team_used == 36  # demand exceeds it: the team's quota is used to the last image
    assert Generation.objects.filter(team=crew.team).count() == team_used // 3
    refused = [r for r in responses if "errorlist" in r.content.decode()]
    assert len(refused) == 20 - team_used // 3
