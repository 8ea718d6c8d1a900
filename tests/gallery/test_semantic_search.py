"""Search by description (VideoGen's file search), More like this, Already made,
captions: against a real sandbox over HTTP, with two teams that use the same prompts.

The images are made in the sandbox (its analysis describes what it drew);
the results are real rows pointing at those files, as an ingest leaves them.
"""

from __future__ import annotations

import time

import httpx
import pytest
from django.urls import reverse

from studio.gallery import semantic
from studio.gallery.selectors import Filters, RankCursor, gallery_results, parse_cursor
from studio.generations import descriptions
from studio.generations.models import Generation, Result, Reuse
from studio.videogen import client_from_settings
from tests.fixtures.factories import make_user

from .factories import make_results, sign_in

LIGHTHOUSE = "a lighthouse at dusk"
HARBOUR = "a quiet harbour"


@pytest.fixture(scope="module")
def own_sandbox(sandbox_factory):
    """A sandbox of this module's own: the key's search spans every file in it."""
    sandbox = sandbox_factory("--analysis-seconds", "0.05")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def vg(settings, own_sandbox):
    settings.VIDEOGEN_BASE_URL = own_sandbox.base_url
    settings.VIDEOGEN_API_KEY = own_sandbox.api_key
    return own_sandbox


def made_in_sandbox(sandbox, *asks: tuple[str, int, bool]) -> list[list[str]]:
    """File ids of the images VideoGen made for each (prompt, count, temporary), all
    started at once; described by its analysis (unless temporary) before this returns."""
    client = client_from_settings()
    started = [
        client.generate_image(prompt=p, num_results=n, is_output_temporary=t) for p, n, t in asks
    ]
    deadline = time.monotonic() + 20
    made = []
    for execution_id in started:
        while (execution := client.get_execution(execution_id)).status != "succeeded":
            assert time.monotonic() < deadline, execution
            time.sleep(0.05)
        made.append([item.file_id for item in execution.results])
    sandbox.settle()
    for (_, _, temporary), ids in zip(asks, made, strict=True):
        for file_id in ids if not temporary else ():
            while not client.get_file(file_id).description:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    return made


def results_for(team, user, file_ids, prompt, temporary=False) -> list[Result]:
    """Stored results of `team` for images VideoGen made, not yet described in Studio."""
    rows = make_results(team, user, len(file_ids), prompt=prompt)
    Generation.objects.filter(pk=rows[0].generation_id).update(is_output_temporary=temporary)
    for row, file_id in zip(rows, file_ids, strict=True):
        Result.objects.filter(pk=row.pk).update(remote_file_id=file_id)
        row.remote_file_id = file_id
    return rows


@pytest.fixture
def two_teams(db, vg, settings):
    """Teams A and B: each made the lighthouse (2 images) and the harbour, same prompts."""
    settings.STUDIO_DESCRIBE_DELAY = 0
    files = made_in_sandbox(
        vg, (LIGHTHOUSE, 2, False), (HARBOUR, 1, False), (LIGHTHOUSE, 2, False), (HARBOUR, 1, False)
    )
    made = {}
    for name, (lighthouse, harbour) in (("ann", files[:2]), ("bob", files[2:])):
        user = make_user(name)
        team = user.teams.get()
        made[name] = {
            "user": user,
            "team": team,
            "lighthouse": results_for(team, user, lighthouse, LIGHTHOUSE),
            "harbour": results_for(team, user, harbour, HARBOUR)[0],
        }
    # Team B's files are newer: in the key's ranking they come first for every query.
    counts = descriptions.backfill(now=None, batch=50)
    assert counts["stored"] == 6, counts
    return made


def colour_only_in(lighthouse: Result, harbour: Result) -> str:
    """A colour word VideoGen's description of the lighthouse has and the harbour's lacks."""
    words = semantic.normalise(lighthouse.description).replace(",", " ").replace(".", " ")
    colours = set(words.split()) & set(descriptions_colours())
    others = set(semantic.normalise(harbour.description).replace(",", " ").split())
    only = sorted(colours - others - set(LIGHTHOUSE.split()))
    assert only, (lighthouse.description, harbour.description)
    return only[0]


def descriptions_colours() -> list[str]:
    from studio.sandbox.analysis import COLOUR_NAMES

    return list(COLOUR_NAMES)


def test_descriptions_are_stored_shown_and_used_as_alt_text(two_teams, client):
    a = two_teams["ann"]
    lighthouse = Result.objects.get(pk=a["lighthouse"][0].pk)
    assert lighthouse.description.startswith("A lighthouse at dusk. Mostly ")
    assert lighthouse.described_at is not None
    # The backfill is idempotent: a second run asks nothing of what is described.
    assert descriptions.backfill()["asked"] == 0
    sign_in(client, a["user"])
    page = client.get(reverse("result_detail", args=[lighthouse.pk])).content.decode()
    assert lighthouse.description in page
    assert f'alt="{lighthouse.description}"' in page


def test_a_word_only_in_the_description_finds_the_image_never_another_teams(two_teams):
    a, b = two_teams["ann"], two_teams["bob"]
    lighthouse = Result.objects.get(pk=a["lighthouse"][0].pk)
    harbour = Result.objects.get(pk=a["harbour"].pk)
    colour = colour_only_in(lighthouse, harbour)
    assert colour not in lighthouse.generation.prompt

    hits = semantic.description_hits(team=a["team"], query=colour)
    page = gallery_results(team=a["team"], filters=Filters(q=colour), hits=hits)
    found = {r.pk: r.matched for r in page.results}
    assert lighthouse.pk in found and found[lighthouse.pk] == ("description",)
    assert harbour.pk not in found
    ours = {r.pk for r in Result.objects.filter(team=a["team"])}
    assert set(hits.ids) <= ours and set(found) <= ours  # team B's twins never appear
    theirs = semantic.description_hits(team=b["team"], query=colour)
    assert b["lighthouse"][0].pk in theirs.ids and not set(theirs.ids) & ours

    # A prompt word: both reasons on the lighthouse; the harbour not at all.
    hits = semantic.description_hits(team=a["team"], query="lighthouse")
    page = gallery_results(team=a["team"], filters=Filters(q="lighthouse"), hits=hits)
    assert {r.pk for r in page.results} == {r.pk for r in a["lighthouse"]}
    assert all(r.matched == ("prompt", "description") for r in page.results)


def test_search_combines_with_filters_and_pages_without_repeats(two_teams, vg):
    a = two_teams["ann"]
    team = a["team"]
    extra = make_results(team, a["user"], 3, prompt="lighthouse sketches, no files")
    calls = _search_calls(vg.stats())
    assert not semantic.description_hits(team=team, query="lighthouse").cached
    hits = semantic.description_hits(team=team, query="  Lighthouse ")
    assert hits.cached  # the same query a moment ago: no second call
    assert _search_calls(vg.stats()) == calls + 1
    seen, cursor, pages = [], None, 0
    while True:
        page = gallery_results(
            team=team, filters=Filters(q="lighthouse"), hits=hits, cursor=cursor, limit=2
        )
        seen += [r.pk for r in page.results]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = parse_cursor(str(page.next_cursor))
    # Description matches first (ranked), then the prompt-only ones newest first.
    described = {r.pk for r in a["lighthouse"]}
    assert set(seen[:2]) == described
    assert seen[2:] == [r.pk for r in reversed(extra)]
    assert len(seen) == len(set(seen)) == 5 and pages == 3
    assert isinstance(parse_cursor("r2"), RankCursor)
    # Another filter narrows both kinds of hit.
    square = gallery_results(
        team=team, filters=Filters(q="lighthouse", aspect_ratio="1:1"), hits=hits
    )
    assert square.results == []


def test_more_like_this_ranks_by_description_and_stays_in_the_team(two_teams, client):
    a, b = two_teams["ann"], two_teams["bob"]
    first, second = a["lighthouse"]
    sign_in(client, a["user"])
    html = client.get(reverse("result_similar", args=[first.pk])).content.decode()
    order = [int(x) for x in _attr_values(html, "data-similar-hit")]
    assert order and order[0] == second.pk  # the other lighthouse first
    assert first.pk not in order
    ours = set(Result.objects.filter(team=a["team"]).values_list("pk", flat=True))
    assert set(order) <= ours
    # Team B's twin of the same image: a 404 for team A, not a hint.
    assert client.get(reverse("result_similar", args=[b["lighthouse"][0].pk])).status_code == 404


def test_already_made_exact_then_close_and_use_this_counts_a_reuse(two_teams, client):
    a = two_teams["ann"]
    sign_in(client, a["user"])
    url = reverse("already_made")
    html = client.get(url, {"prompt": "A Lighthouse  at dusk", "aspect_ratio": "16:9",
                            "watermark_mode": "AUTO"}).content.decode()
    exact = [int(x) for x in _attr_values(html, 'data-made="exact" data-result')]
    assert set(exact) == {r.pk for r in a["lighthouse"]}
    ours = set(Result.objects.filter(team=a["team"]).values_list("pk", flat=True))
    assert set(int(x) for x in _attr_values(html, "data-result")) <= ours
    # Another aspect ratio: not exact any more, still close.
    html = client.get(url, {"prompt": LIGHTHOUSE, "aspect_ratio": "1:1",
                            "watermark_mode": "AUTO"}).content.decode()
    assert 'data-made="exact"' not in html and 'data-made="close"' in html
    assert client.get(url, {"prompt": "zq"}).content.strip() == b""

    response = client.post(reverse("result_reuse", args=[a["lighthouse"][0].pk]),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert LIGHTHOUSE in response.content.decode()  # the form, with its settings
    assert f'data-open-result="{a["lighthouse"][0].pk}"' in response.content.decode()
    assert Reuse.objects.filter(team=a["team"]).count() == 1
    usage = client.get(reverse("review_usage")).content.decode()
    assert "saved by reuse" in usage
    other = two_teams["bob"]["lighthouse"][0]
    assert client.post(reverse("result_reuse", args=[other.pk])).status_code == 404
    assert Reuse.objects.count() == 1


def test_temporary_outputs_are_never_described_or_searched(db, vg, client):
    user = make_user("tess")
    team = user.teams.get()
    [files] = made_in_sandbox(vg, ("a temporary lighthouse", 1, True))
    [temporary] = results_for(team, user, files, "a temporary lighthouse", temporary=True)
    assert descriptions.backfill()["asked"] == 0
    hits = semantic.description_hits(team=team, query="temporary lighthouse")
    assert temporary.pk not in hits.ids
    sign_in(client, user)
    html = client.get(reverse("result_similar", args=[temporary.pk])).content.decode()
    assert "temporary output" in html


def test_when_the_search_budget_is_spent_words_alone_and_it_says_so(
    db, settings, sandbox_factory, client
):
    sandbox = sandbox_factory("--analysis-seconds", "0.05")
    try:
        settings.VIDEOGEN_BASE_URL = sandbox.base_url
        settings.VIDEOGEN_API_KEY = sandbox.api_key
        settings.STUDIO_RATE_LIMITS = "search=1/3600"
        user = make_user("penny")
        team = user.teams.get()
        [files] = made_in_sandbox(sandbox, (LIGHTHOUSE, 1, False))
        [row] = results_for(team, user, files, LIGHTHOUSE)
        assert semantic.description_hits(team=team, query="dusk").note == ""  # the one call
        spent = semantic.description_hits(team=team, query="lighthouse")
        assert spent.note == semantic.BUDGET_SPENT, spent
        sign_in(client, user)
        html = client.get(reverse("gallery"), {"q": "lighthouse"}).content.decode()
        assert "search budget is spent" in html
        assert f'id="tile-{row.pk}"' in html  # the prompt still finds it
        calls = httpx.get(
            f"{sandbox.base_url}/_admin/stats",
            headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        ).json()
        assert _search_calls(calls) == 1
    finally:
        sandbox.stop()


def _search_calls(stats) -> int:
    requests = stats.get("requests", {})
    return sum(n for name, n in requests.items() if "search" in name)


def _attr_values(html: str, attribute: str) -> list[str]:
    import re

    return re.findall(re.escape(attribute) + r'="([^"]*)"', html)
