"""No GET answers 5xx, whatever its query string or path ids (issue 14, §2).

The URLconf is walked at collection time, so a new view is fuzzed without
anyone adding it here; the coverage test fails when a pattern is neither
fuzzed nor excluded below with a reason. The query parameters a view reads
are found by asking it: a first request goes through a QueryDict that records
every key looked up (forms read theirs the same way), and those keys, with
the generic ones every list view might take, are then fed hostile values by
hypothesis: huge and negative numbers, malformed cursors, far dates, NUL
bytes, very long strings and bytes that are not UTF-8. Signed in as a
member of a team with real rows, and signed out.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from studio.gallery.models import Collection, ShareLink
from studio.teams.models import Invitation, Membership
from tests.review.conftest import make_member, stored_generation

# Patterns not fuzzed here, each with why.
EXCLUDED_PREFIXES = {
    "admin/": "Django's own admin: staff only, Django's own input handling and tests",
}
EXCLUDED = {
    "webhooks/videogen/": "POST only; bodies are fuzzed in tests/security/test_webhook_input.py",
}

GENERIC_PARAMS = [
    "cursor",
    "after",
    "seq",
    "page",
    "month",
    "date_from",
    "date_to",
    "ids",
    "q",
    "sort",
    "status",
    "idle",
    "download",
    "member",
    "collection",
    "tool",
    "aspect_ratio",
    "next",
]
HOSTILE = [
    "99999999999999999999",
    "9" * 400,
    "18446744073709551616",
    "9223372036854775808",
    "-1",
    "-99999999999999999999",
    "0",
    "1e309",
    "NaN",
    " 1",
    "0x10",
    "1.5",
    "99999999999999999999-1",
    "1-99999999999999999999",
    "-1--1",
    "1-",
    "-",
    "abc-def",
    "9999-12-31",
    "9999-12",
    "0001-01-01",
    "10000-01-01",
    "0000-00",
    "2026-02-30",
    "9999-99",
    "-5-01",
    "2026-13",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "☃" * 300,
    "'\"<script>",
    "%",
    "../../etc/passwd",
]
# Raw, already-encoded bytes that are not valid UTF-8 (a lone surrogate, 0xFF).
BAD_BYTES = ["%ED%A0%80", "%FF%FE", "%C0%AF", "%00"]
# One of each kind, met by every parameter a view reads (the rest come up at random).
SWEEP = [
    "99999999999999999999",
    "9" * 400,
    "-1",
    "99999999999999999999-1",
    "1-99999999999999999999",
    "9999-12-31",
    "9999-12",
    "10000-01-01",
    "a\x00b",
    "x" * 5000,
]
HOSTILE_PATH = [
    "99999999999999999999",
    "9" * 300,
    "9223372036854775808",
    "0",
    "-1",
    "%00",
    "x" * 2000,
    "%ED%A0%80",
    "%FF",
    "..",
]


def walk(patterns=None, prefix=""):
    """(route, pattern) for every URL pattern, depth first."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def fuzzed_routes() -> list[str]:
    return [
        route
        for route, _ in walk()
        if route not in EXCLUDED and not route.startswith(tuple(EXCLUDED_PREFIXES))
    ]


def test_every_url_pattern_is_fuzzed_or_excluded_with_a_reason():
    routes = [route for route, _ in walk()]
    fuzzed = set(fuzzed_routes())
    for route in routes:
        excluded = route in EXCLUDED or route.startswith(tuple(EXCLUDED_PREFIXES))
        assert (route in fuzzed) != excluded, route
    assert set(EXCLUDED) <= set(routes), "an exclusion names a pattern that is gone"
    # Sanity: the walk sees the views issue 14 found.
    for known in (
        "gallery/",
        "gallery/news/",
        "review/usage/",
        "results/download.zip",
        "s/<slug:share_token>/",
    ):
        assert known in fuzzed


class RecordingQueryDict(QueryDict):
    """A QueryDict that remembers (in RecordParams.seen) every key a view looks up."""

    def __getitem__(self, key):
        RecordParams.seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        RecordParams.seen.add(key)
        return super().get(key, default)

    def getlist(self, key, default=None):
        RecordParams.seen.add(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        RecordParams.seen.add(key)
        return super().__contains__(key)


class RecordParams:
    """Test-only middleware: swaps request.GET for a recording one."""

    seen: set = set()

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = RecordingQueryDict(request.META.get("QUERY_STRING", ""))
        return self.get_response(request)


class World:
    """A team with one of everything a path id can name, and a member of it."""

    def __init__(self):
        from studio.teams.models import Team

        self.team = Team.objects.create(name="Fuzz")
        self.member = make_member(
            self.team, Membership.Role.MEMBER, "fuzz-member", personal_team=False
        )
        self.admin = make_member(
            self.team, Membership.Role.ADMIN, "fuzz-admin", personal_team=False
        )
        generation = stored_generation(self.team, self.member, states=("approved", "pending"))
        result = generation.results.first()
        self.collection = Collection.objects.create(
            team=self.team, name="Board", created_by=self.member
        )
        self.collection.items.create(result=result, added_by=self.member)
        self.links = [
            ShareLink.objects.create(
                team=self.team, collection=self.collection, created_by=self.member
            ),
            ShareLink.objects.create(team=self.team, result=result, created_by=self.member),
        ]
        invitation = Invitation.objects.create(
            team=self.team, created_by=self.admin, expires_at=timezone.now() + timedelta(days=7)
        )
        self.ids = sorted(
            {
                generation.pk,
                result.pk,
                self.collection.pk,
                self.team.pk,
                invitation.pk,
                self.links[0].pk,
                *Membership.objects.filter(team=self.team).values_list("pk", flat=True),
            }
        )
        self.tokens = [link.token for link in self.links] + [invitation.token]
        self.strings = ["original", "thumbnail", "upscale", "remove-background"]


CONVERTER = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def path_strategy(route: str, world: World):
    """A path for `route`: real ids and tokens mostly, hostile ones too."""
    parts = CONVERTER.split(route)
    # split yields text, conv, name, text, conv, name, ..., text
    pieces = []
    for index in range(0, len(parts), 3):
        pieces.append(st.just(parts[index]))
        if index + 2 < len(parts):
            conv = parts[index + 1] or "str"
            if conv == "int":
                real = st.sampled_from([str(i) for i in world.ids])
            elif conv == "slug":
                real = st.sampled_from(world.tokens)
            else:
                real = st.sampled_from(world.strings + world.tokens)
            pieces.append(st.one_of(real, real, st.sampled_from(HOSTILE_PATH)))
    return st.tuples(*pieces).map(lambda bits: "/" + "".join(bits))


def value_strategy():
    encoded = st.one_of(
        st.sampled_from(HOSTILE).map(lambda v: quote(v, safe="")),
        st.text(max_size=40).map(lambda v: quote(v.encode("utf-8", "surrogatepass"), safe="")),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
    )
    return st.one_of(encoded, encoded, st.sampled_from(BAD_BYTES))


def query_strategy(params: list[str]):
    return st.lists(
        st.tuples(st.sampled_from(params), value_strategy()), min_size=1, max_size=4
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


def get(client: Client, path: str, query: str = "", **headers):
    response = client.get(path, QUERY_STRING=query, headers=headers)
    if response.streaming:  # a zip is written while it is sent: read it all
        b"".join(response.streaming_content)

    return response


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.RecordParams"]
    return World()


def real_paths(route: str, world: World) -> list[str]:
    """`route` filled with real ids and tokens, so the view gets past its lookups."""
    paths = []
    for index, pk in enumerate(world.ids):
        text = world.strings[index % len(world.strings)]
        paths.append(
            "/"
            + CONVERTER.sub(
                lambda m, pk=pk, text=text: (
                    str(pk)
                    if m["conv"] == "int"
                    else (world.tokens[0] if m["conv"] == "slug" else text)
                ),
                route,
            )
        )
    if "<slug:" in route:
        paths += [
            "/"
            + CONVERTER.sub(
                lambda m, t=t: (
                    t
                    if m["conv"] == "slug"
                    else str(world.ids[0])
                    if m["conv"] == "int"
                    else world.strings[0]
                ),
                route,
            )
            for t in world.tokens
        ]
    return list(dict.fromkeys(paths))


@pytest.mark.parametrize("who", ["admin", "member", "signed-out"])
@pytest.mark.parametrize("route", fuzzed_routes())
def test_get_never_answers_5xx(world, route, who):
    client = Client(raise_request_exception=True)
    if who != "signed-out":
        client.force_login(getattr(world, who))
    # Ask the view which parameters it reads: real paths, a plain query, page and fragment.
    RecordParams.seen = set()
    paths = real_paths(route, world)
    for index, path in enumerate(paths):
        assert get(client, path, "cursor=1-1&page=1").status_code < 500, path
        if index == 0:  # and the fragment a view may answer instead
            fragment = {"HX-Request": "true", "HX-Target": "gallery-results"}
            assert get(client, path, "cursor=1-1&page=1", **fragment).status_code < 500, path
    read = sorted(RecordParams.seen)
    params = sorted(set(read) | set(GENERIC_PARAMS))

    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(path=path_strategy(route, world), query=query_strategy(params), htmx=st.booleans())
    def fuzz(path, query, htmx):
        headers = {"HX-Request": "true"} if htmx else {}
        try:
            status = get(client, path, query, **headers).status_code
        except Exception as exc:  # the test client re-raises what would be a 500
            raise AssertionError(f"GET {path}?{query} raised {exc!r}") from exc
        assert status < 500, f"GET {path}?{query} answered {status}"

    # Every parameter the view really reads meets every hostile value at least once.
    for name in read:
        for value in [quote(v, safe="") for v in SWEEP] + BAD_BYTES[:2]:
            fuzz = example(path=paths[0], query=f"{name}={value}", htmx=False)(fuzz)
    fuzz()


@pytest.mark.parametrize(
    "url",
    [
        "/gallery/?cursor=99999999999999999999-1",
        "/gallery/news/?seq=0&after=99999999999999999999-1",
        "/review/usage/?month=9999-12",
        "/gallery/?date_to=9999-12-31",
        "/gallery/?date_from=9999-12-31",
        "/results/download.zip?ids=99999999999999999999999",
    ],
)
def test_the_500s_issue_14_found_are_4xx_or_a_page(world, client, url):
    client.force_login(world.admin)
    path, _, query = url.partition("?")
    response = get(client, path, query)
    assert response.status_code in (200, 400, 404)
    if "download" in path:
        assert response.status_code == 404
    if "cursor" in query:
        assert response.status_code == 400
        assert b"not one this gallery wrote" in response.content


def test_share_page_signed_out_with_a_huge_cursor(world, client):
    for link in world.links:
        response = get(client, f"/s/{link.token}/", "cursor=99999999999999999999-1")
        assert response.status_code in (200, 400)  # a single result's link reads no cursor
