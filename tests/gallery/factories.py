"""Real rows for gallery and teams tests: stored results (with small real
image files), collections and share links."""

from __future__ import annotations

from datetime import datetime

from studio.gallery.models import Collection, CollectionItem, ShareLink
from studio.generations.builders import build_result, store_image
from studio.generations.models import Generation, Result, Status, Tool
from studio.teams.models import Team
from tests.fixtures.factories import png_bytes


def make_results(
    team: Team,
    user,
    count: int = 1,
    *,
    prompt: str = "a harbour at night",
    aspect_ratio: str = "16:9",
    status: str = Status.SUCCEEDED,
    created_at: datetime | None = None,
) -> list[Result]:
    """One succeeded generation with `count` stored results, newest last."""
    generation = Generation.objects.create(
        team=team,
        created_by=user,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        num_results=min(count, 100),  # a test may want more results than one request gives
        status=status,
    )
    stored = store_image(
        png_bytes(size=(64, 36), color=(30, 120, 200)), f"results/t{team.pk}/g{generation.pk}"
    )
    results = [
        build_result(generation, i, stored, sha256=f"{generation.pk:032x}{i:032x}")
        for i in range(count)
    ]
    for result in results:
        result.save()
    if created_at is not None:
        Generation.objects.filter(pk=generation.pk).update(created_at=created_at)
        Result.objects.filter(generation=generation).update(created_at=created_at)
        for result in results:
            result.created_at = created_at
    return results


def make_result(team: Team, user, **kwargs) -> Result:
    return make_results(team, user, 1, **kwargs)[0]


def make_edit(source: Result, user, tool: str = Tool.UPSCALE_IMAGE, count: int = 1) -> list[Result]:
    """An edit of `source` (an upscale, a cut-out, variations), stored, in its lineage."""
    results = make_results(source.team, user, count, prompt=source.generation.prompt)
    Generation.objects.filter(pk=results[0].generation_id).update(
        tool=tool,
        source_result=source,
        stack_root_id=source.generation.stack_root_id or source.generation_id,
    )
    for result in results:
        result.generation.refresh_from_db()
    return results


def make_collection(team: Team, user, name: str = "Moodboard", results=()) -> Collection:
    collection = Collection.objects.create(team=team, name=name, created_by=user)
    for result in results:
        CollectionItem.objects.create(collection=collection, result=result, added_by=user)
    return collection


def make_share_link(team: Team, user, *, collection=None, result=None, **fields) -> ShareLink:
    return ShareLink.objects.create(
        team=team, collection=collection, result=result, created_by=user, **fields
    )


def sign_in(client, user, team: Team | None = None):
    """Sign `user` in with `team` as the current team (as the switcher leaves it)."""
    from studio.teams.middleware import SESSION_KEY

    client.force_login(user)
    if team is not None:
        session = client.session
        session[SESSION_KEY] = team.pk
        session.save()
    return client
