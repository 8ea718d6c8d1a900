"""Every page a member or admin opens costs at most 20 queries, and no more for a
team with six times the images (edits, comments, ratings, reviews, Trash, links
growing with it). The pages are bench/pages.py's; its table gives the times."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from bench.pages import MAX_QUERIES, NOT_PAGES, page_list, page_names, signed_in
from studio.generations.models import Generation, Result
from studio.teams.models import Team


def _seed(name: str, images: int) -> dict:
    call_command("seed_gallery", team=name, results=images, create=True, extras=True,
                 members=4, stdout=open("/dev/null", "w"))
    team = Team.objects.get(name=name)
    Team.objects.filter(pk=team.pk).update(change_seq=1)  # the polls' "something changed"
    team.refresh_from_db()
    return signed_in(team)


def _queries(client, url: str, headers: dict) -> list[str]:
    response = client.get(url, **headers)
    assert response.status_code in (200, 204, 286), (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        client.get(url, **headers)
    return [q["sql"][:150] for q in captured.captured_queries]


def _named_urls(resolver=None) -> dict[str, URLPattern]:
    found = {}
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":  # Django's admin: not Studio's pages
                found |= _named_urls(entry)
        elif isinstance(entry, URLPattern) and entry.name:
            found[entry.name] = entry
    return found


def _takes_get(client, name: str, entry: URLPattern) -> bool:
    """Whether the view behind `name` answers a GET (405: a POST-only action)."""
    kwargs = {param: 1 if isinstance(converter, IntConverter) else "x"
              for param, converter in entry.pattern.converters.items()}
    return client.get(reverse(name, kwargs=kwargs)).status_code != 405


@pytest.mark.django_db
def test_every_page_is_bounded_and_does_not_grow_with_the_gallery():
    teams = {"small": _seed("pages-small", 10), "large": _seed("pages-large", 60)}
    large = teams["large"]["team"]
    # The large team really has more of everything the pages show.
    assert Generation.objects.filter(team=large, stack_root__isnull=False).count() >= 6
    assert Result.all_objects.filter(team=large, deleted_at__isnull=False).exists()
    assert Generation.objects.filter(team=large, deleted_at__isnull=False).exists()
    assert Result.objects.filter(team=large, review_state="pending").exists()

    pages = page_list(teams)
    sql = {}
    for name, who, url, *headers in pages:
        extra = headers[0] if headers else {}
        sql[name] = [_queries(t[who], url(t), extra) for t in teams.values()]
    counts = {name: [len(small), len(large)] for name, (small, large) in sql.items()}
    too_many = {n: c for n, c in counts.items() if max(c) > MAX_QUERIES}
    # With the SQL of the large team's page, to see which query came in addition.
    growing = {n: (c, sql[n][1]) for n, c in counts.items() if c[1] > c[0]}
    assert too_many == {}, f"pages over {MAX_QUERIES} queries (10 vs 60 images): {too_many}"
    assert growing == {}, f"pages whose queries grow with the gallery (10 vs 60): {growing}"


@pytest.mark.django_db
def test_every_get_page_is_in_the_benchmark():
    """A new page is measured: in bench/pages.py's page_list, or in NOT_PAGES with a reason."""
    teams = {"small": _seed("pages-names", 10)}
    covered = page_names(page_list(teams), teams)
    client = teams["small"]["owner"]
    missing = sorted(
        name for name, entry in _named_urls().items()
        if name not in covered | NOT_PAGES and _takes_get(client, name, entry)
    )
    assert missing == [], f"GET pages missing from bench/pages.py page_list or NOT_PAGES: {missing}"
