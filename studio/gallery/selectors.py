"""Reads of the gallery: results, favourites, collections, share links.

Everything starts from a team (studio.teams.scoping), and pages are cut by a
keyset cursor on (created_at, id), newest first, so page 2,000 costs what
page 1 costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
)
from django.http import Http404

from studio.generations import selectors as generation_selectors
from studio.generations.models import Generation, Result
from studio.generations.visibility import is_reviewer, may_see_result, team_policy, visible_q
from studio.teams.scoping import for_team, get_for_team_or_404

from . import search
from .models import Collection, CollectionItem, Favourite, ShareLink

PAGE_SIZE = 48
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(?:(\d{1,6})\.)?(\d{1,20})-(\d{1,20})$")

NEWEST, TOP_RATED, MY_RATING = "", "rating", "mine"
SORTS = [(NEWEST, "Newest first"), (TOP_RATED, "Team's rating"), (MY_RATING, "My rating")]


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last result's (created_at, id), and its score when the
    gallery is sorted by rating. Shown in URLs as `µs-id` or `score.µs-id`."""

    created_at: datetime
    pk: int
    score: int | None = None

    @classmethod
    def after(cls, result: Result, score: int | None = None) -> Cursor:
        return cls(result.created_at, result.pk, score)

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Raise ValueError for anything that is not a cursor this code wrote."""
        match = _CURSOR.match(text or "")
        if not match:
            raise ValueError("not a gallery cursor")
        score, micros, pk = match.groups()
        if int(pk) > generation_selectors.MAX_ID:  # no row has it; the database refuses it
            raise ValueError("not a gallery cursor")
        try:
            created = _EPOCH + timedelta(microseconds=int(micros))
        except OverflowError:  # past year 9999: no result was made then
            raise ValueError("not a gallery cursor") from None
        return cls(created, int(pk), None if score is None else int(score))

    def __str__(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        prefix = "" if self.score is None else f"{self.score}."
        return f"{prefix}{micros}-{self.pk}"


@dataclass(frozen=True)
class RankCursor:
    """Where a page of ranked search hits ends: their position in the (cached) ranking.
    Shown in URLs as `r12`."""

    offset: int

    def __str__(self) -> str:
        return f"r{self.offset}"


_RANK_CURSOR = re.compile(r"^r(\d{1,3})$")


def parse_cursor(text: str) -> Cursor | RankCursor:
    """A gallery cursor of either kind; ValueError for anything this code did not write."""
    match = _RANK_CURSOR.match(text or "")
    if match:
        return RankCursor(int(match.group(1)))
    return Cursor.parse(text)


@dataclass(frozen=True)
class Filters:
    """What the gallery is narrowed to; every field optional, all combine (AND)."""

    q: str = ""
    member: object | None = None  # a user
    status: str = ""
    tool: str = ""
    aspect_ratio: str = ""
    date_from: date | None = None
    date_to: date | None = None
    favourites_of: object | None = None  # a user
    collection: Collection | None = None
    min_rating: int | None = None  # the team's average, in stars
    my_min_rating: int | None = None
    rater: object | None = None  # whose rating "my rating" means (a user)
    sort: str = NEWEST


@dataclass
class Page:
    results: list[Result]
    next_cursor: Cursor | None
    favourite_ids: set[int] = field(default_factory=set)


@dataclass
class Edit:
    """One edit of a tile's image (an upscale, a cut-out, variations): its
    generation and the results of it this person may see."""

    generation: object
    results: list[Result] = field(default_factory=list)


# An edit whose source image is still in view stacks under that image's tile
# instead of standing as a tile of its own.
_STACKED = Q(
    generation__source_result__isnull=False,
    generation__source_result__deleted_at__isnull=True,
    generation__source_result__generation__deleted_at__isnull=True,
)


def stacks_edits(filters: Filters) -> bool:
    """Edits stack under their source unless the gallery is narrowed by what
    belongs to single images (a search, their tool, favourites, collections,
    ratings): then each matching image is a tile of its own."""
    return not (
        filters.q
        or filters.tool
        or filters.favourites_of is not None
        or filters.collection is not None
        or filters.min_rating
        or filters.my_min_rating
        or filters.sort == MY_RATING
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(queryset, filters: Filters):
    if filters.q:
        ids = search.matching_generation_ids(filters.q)
        if ids is not None:
            queryset = queryset.filter(generation_id__in=ids)
    if filters.member is not None:
        queryset = queryset.filter(generation__created_by=filters.member)
    if filters.status:
        queryset = queryset.filter(generation__status=filters.status)
    if filters.tool:
        queryset = queryset.filter(generation__tool=filters.tool)
    if filters.aspect_ratio:
        queryset = queryset.filter(generation__aspect_ratio=filters.aspect_ratio)
    if filters.date_from:
        queryset = queryset.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to and filters.date_to < date.max:  # up to the last day: no bound
        queryset = queryset.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.favourites_of is not None:
        queryset = queryset.filter(favourites__user=filters.favourites_of)
    if filters.collection is not None:
        queryset = queryset.filter(collection_items__collection=filters.collection)
    if filters.min_rating:
        queryset = queryset.filter(rating_score__gte=filters.min_rating * 100)
    if filters.rater is not None and (filters.sort == MY_RATING or filters.my_min_rating):
        # One row per result: a person rates an image once (discussion.Rating).
        mine = FilteredRelation("ratings", condition=Q(ratings__user=filters.rater))
        queryset = queryset.annotate(mine=mine, my_stars=F("mine__stars")).filter(
            my_stars__gte=filters.my_min_rating or 1
        )
    return queryset


def _sort_key(filters: Filters) -> str | None:
    """The score a sort orders by first (None: newest first)."""
    if filters.sort == TOP_RATED:
        return "rating_score"
    if filters.sort == MY_RATING and filters.rater is not None:
        return "my_stars"
    return None


def _after(queryset, cursor: Cursor, key: str | None):
    """Rows after `cursor` in (key desc, created_at desc, id desc), written as
    ranges the (team, [score,] created_at, id) index walks, not a scan."""
    older = Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, pk__lt=cursor.pk)
    if key is None:
        return queryset.filter(created_at__lte=cursor.created_at).filter(older)
    score = cursor.score or 0
    return queryset.filter(**{f"{key}__lte": score}).filter(
        Q(**{f"{key}__lt": score}) | (Q(**{key: score}) & older)
    )


def _visible(queryset, *, team, membership):
    """The review rule (visibility.py): what this person may see (None: a share visitor)."""
    if is_reviewer(membership):
        return queryset
    return queryset.filter(visible_q(membership=membership, policy=team_policy(team)))


def gallery_results(
    *,
    team,
    membership=None,
    filters: Filters | None = None,
    cursor: Cursor | RankCursor | None = None,
    limit: int = PAGE_SIZE,
    hits=None,
) -> Page:
    """One page of the team's stored results that `membership` may see (None: a
    visitor through a share link), newest first, with their favourite marks.

    A few queries whatever the gallery's size or the page's depth: the review
    policy, the page (one row more than shown, to know whether there is a next
    one) and its favourites. The cursor condition is written so that the
    (team, created_at) index gives a range, not a scan.

    `hits` (semantic.Hits): this team's results whose VideoGen description
    matches `filters.q`. They join the prompt matches (de-duplicated), and each
    row says why it matched (`row.matched`: "prompt", "description"). Sorted
    newest first (the default), a search ranks: description matches by
    similarity first (paged by offset: at most 100, from one cached answer),
    then the other prompt matches newest first (keyset). Another sort keeps
    its own order over the union.
    """
    filters = filters or Filters()
    visible = _stored_visible(team, membership)
    stacking = stacks_edits(filters)
    if stacking:
        # No "has edits" EXISTS on each row: PostgreSQL answers it by hashing the
        # source of every generation (a scan of them all, 12 ms at 100,000 images),
        # where _attach_edits's one query for the page's lineages is an index probe.
        visible = visible.exclude(_STACKED)
    key = _sort_key(filters)
    fts = search.matching_generation_ids(filters.q) if filters.q else None
    semantic_ids = list(hits.ids) if (hits is not None and fts is not None) else []
    if isinstance(cursor, RankCursor) and key is not None:
        raise ValueError("That page cursor belongs to another sort order.")
    if isinstance(cursor, Cursor) and (cursor.score is None) != (key is None):
        raise ValueError("That page cursor belongs to another sort order.")
    if semantic_ids and key is None:
        rows, next_cursor = _ranked_rows(
            _filtered(visible, replace(filters, q="")), fts, semantic_ids, cursor, limit
        )
    else:
        if semantic_ids:
            queryset = _with_prompt_match(
                _filtered(visible, replace(filters, q="")).filter(
                    Q(generation_id__in=fts) | Q(pk__in=semantic_ids)
                ),
                fts,
            )
        else:
            queryset = _filtered(visible, filters)
        queryset = queryset.select_related("generation", "generation__created_by")
        if isinstance(cursor, Cursor):
            queryset = _after(queryset, cursor, key)
        order = ["-created_at", "-pk"] if key is None else [f"-{key}", "-created_at", "-pk"]
        rows = list(queryset.order_by(*order)[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            last = rows[-1]
            next_cursor = Cursor.after(last, None if key is None else getattr(last, key))
        if filters.q and fts is not None:
            described = set(semantic_ids)
            for row in rows:
                by_prompt = row.by_prompt if semantic_ids else True
                row.matched = _reasons(by_prompt, row.pk in described)
    favourite_ids = set()
    if membership is not None and rows:
        favourite_ids = set(
            for_team(Favourite, team)
            .filter(user_id=membership.user_id, result_id__in=[r.pk for r in rows])
            .values_list("result_id", flat=True)
        )
    for row in rows:
        row.is_favourite = row.pk in favourite_ids
        row.edits = []
    if stacking and rows:
        _attach_edits(rows, team=team, membership=membership)
    return Page(rows, next_cursor, favourite_ids)


def _attach_edits(rows: list[Result], *, team, membership) -> None:
    """Set `row.edits` on the page's tiles: the edits of each image, oldest
    first, an edit of an edit under the tile it descends from. One query for
    the whole page, whatever its size: every edit names the first generation
    of its lineage (Generation.stack_root)."""
    roots = {row.generation.stack_root_id or row.generation_id for row in rows}
    edits = list(
        _visible(for_team(Result, team).exclude(thumbnail=""), team=team, membership=membership)
        .filter(generation__stack_root_id__in=roots)
        .select_related("generation")
        .order_by("generation__created_at", "generation_id", "position")
    )
    tiles = {row.pk: row for row in rows}
    source_of = {edit.pk: edit.generation.source_result_id for edit in edits}
    groups: dict[tuple[int, int], Edit] = {}
    for edit in edits:
        if edit.pk in tiles:  # its source left the view: a tile of its own
            continue
        source, seen = edit.generation.source_result_id, set()
        while source not in tiles and source in source_of and source not in seen:
            seen.add(source)
            source = source_of[source]
        tile = tiles.get(source)
        if tile is None:
            continue
        group = groups.get((tile.pk, edit.generation_id))
        if group is None:
            group = groups[(tile.pk, edit.generation_id)] = Edit(edit.generation)
            tile.edits.append(group)
        group.results.append(edit)


def _stored_visible(team, membership):
    return _visible(for_team(Result, team).exclude(thumbnail=""), team=team, membership=membership)


def _reasons(by_prompt: bool, by_description: bool) -> tuple[str, ...]:
    return tuple(r for r, yes in (("prompt", by_prompt), ("description", by_description)) if yes)


def _with_prompt_match(queryset, fts):
    """Each row's `by_prompt`: whether its prompt matched too, read with the row (not
    asked again for the page's rows)."""
    return queryset.annotate(
        by_prompt=ExpressionWrapper(Q(generation_id__in=fts), output_field=BooleanField())
    )


def _ranked_rows(queryset, fts, semantic_ids, cursor, limit):
    """Description matches by similarity (those that pass every filter), then the other
    prompt matches newest first; (rows, next cursor)."""
    present = set(queryset.filter(pk__in=semantic_ids).values_list("pk", flat=True))
    order = [pk for pk in semantic_ids if pk in present]
    if isinstance(cursor, Cursor):
        start = len(order)
    else:
        start = min(cursor.offset, len(order)) if cursor else 0
    first = order[start : start + limit]
    related = queryset.select_related("generation", "generation__created_by")
    found = _with_prompt_match(related.filter(pk__in=first), fts) if first else []
    by_pk = {r.pk: r for r in found}
    rows = [by_pk[pk] for pk in first if pk in by_pk]
    for row in rows:
        row.matched = _reasons(row.by_prompt, True)
    if start + limit < len(order):
        return rows, RankCursor(start + limit)
    rest = related.filter(generation_id__in=fts).exclude(pk__in=order)
    if isinstance(cursor, Cursor):
        rest = _after(rest, cursor, None)
    room = limit - len(rows)
    more_rows = list(rest.order_by("-created_at", "-pk")[: room + 1])
    more = len(more_rows) > room
    more_rows = more_rows[:room]
    for row in more_rows:
        row.matched = ("prompt",)
    rows += more_rows
    if not more:
        return rows, None
    if more_rows:
        return rows, Cursor.after(more_rows[-1])
    return rows, RankCursor(len(order))


def ranked_results(*, team, membership, ids: list[int], limit: int) -> list[Result]:
    """The stored results among `ids` that this person may see, in the order of `ids`."""
    visible = _stored_visible(team, membership)
    rows = visible.filter(pk__in=ids).select_related("generation", "generation__created_by")
    by_pk = {r.pk: r for r in rows}
    return [by_pk[pk] for pk in ids if pk in by_pk][:limit]


def exact_matches(
    *, team, membership, prompt: str, aspect_ratio: str, watermark_mode: str,
    reference_ids: set[int], limit: int,
) -> list[Result]:
    """Images the team made from this very request: the same prompt (whatever the case
    and spacing), aspect ratio, watermark and references. Newest first."""
    fts = search.matching_generation_ids(prompt)
    wanted = " ".join(prompt.split()).lower()
    if fts is None or not wanted:
        return []
    candidates = (
        for_team(Generation, team)
        .visible()
        .filter(
            pk__in=fts,
            tool=Generation.Tool.GENERATE_IMAGE,
            status=Generation.Status.SUCCEEDED,
            aspect_ratio=aspect_ratio,
            watermark_mode=watermark_mode,
        )
        .prefetch_related("references")
        .order_by("-created_at")[:50]
    )
    same = [
        g.pk
        for g in candidates
        if " ".join(g.prompt.split()).lower() == wanted
        and {r.pk for r in g.references.all()} == set(reference_ids)
    ]
    if not same:
        return []
    visible = _stored_visible(team, membership)
    return list(
        visible.filter(generation_id__in=same)
        .select_related("generation", "generation__created_by")
        .order_by("-created_at", "position")[:limit]
    )


def prompt_match_ids(*, team, membership, text: str, limit: int) -> list[int]:
    """The newest results whose prompt has every word of `text` (FTS), for Already made."""
    fts = search.matching_generation_ids(text)
    if fts is None:
        return []
    visible = _stored_visible(team, membership)
    return list(
        visible.filter(generation_id__in=fts)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:limit]
    )


def newest_cursor(*, team) -> Cursor | None:
    """Where the news poller starts when the page is not sorted newest first."""
    newest = for_team(Result, team).exclude(thumbnail="").order_by("-created_at", "-pk").first()
    return Cursor.after(newest) if newest else None


def has_newer_results(*, team, membership, filters: Filters, after: Cursor | None) -> bool:
    """Whether results this person may see, matching `filters`, landed after `after`."""
    queryset = _filtered(
        _visible(for_team(Result, team).exclude(thumbnail=""), team=team, membership=membership),
        filters,
    )
    if after is not None:
        queryset = queryset.filter(created_at__gte=after.created_at).filter(
            Q(created_at__gt=after.created_at) | Q(pk__gt=after.pk)
        )
    return queryset.exists()


def result_for_team(*, team, pk: int, membership) -> Result:
    """A result of the team this person may see (the studio's own rule), else 404."""
    return generation_selectors.result_for_team(team=team, pk=pk, membership=membership)


def is_favourite(*, user, result: Result) -> bool:
    return Favourite.objects.filter(user=user, result=result).exists()


# --- collections ----------------------------------------------------------------------------


def _with_cover(queryset):
    """The cover: the chosen image while it is still in the collection, else the latest added."""
    latest = CollectionItem.objects.filter(collection=OuterRef("pk")).order_by("-added_at", "-pk")
    chosen_in = CollectionItem.objects.filter(collection=OuterRef("pk"), result=OuterRef("cover"))
    return queryset.annotate(
        latest_result_id=Subquery(latest.values("result_id")[:1]),
        cover_is_in=Exists(chosen_in),
        item_count=Count("items", distinct=True),
    )


def collections_for_team(*, team) -> list[Collection]:
    collections = list(_with_cover(for_team(Collection, team)).select_related("created_by"))
    for collection in collections:
        collection.cover_result_id = (
            collection.cover_id if collection.cover_is_in else collection.latest_result_id
        )
    return collections


def collection_for_team(*, team, pk: int) -> Collection:
    collection = get_for_team_or_404(
        _with_cover(Collection.objects.select_related("created_by")), team=team, pk=pk
    )
    collection.cover_result_id = (
        collection.cover_id if collection.cover_is_in else collection.latest_result_id
    )
    return collection


def collection_choices(*, team):
    """For the gallery's collection filter: id and name only."""
    return for_team(Collection, team).order_by("name")


def collections_of_result(*, team, result: Result) -> list[tuple[Collection, bool]]:
    """Every collection of the team, and whether `result` is in it (for the add/remove menu)."""
    contains = CollectionItem.objects.filter(collection=OuterRef("pk"), result=result)
    collections = for_team(Collection, team).annotate(has_result=Exists(contains)).order_by("name")
    return [(c, c.has_result) for c in collections]


# --- share links ----------------------------------------------------------------------------


def share_links_for_team(*, team) -> list[ShareLink]:
    return list(
        for_team(ShareLink, team).select_related(
            "collection", "result", "result__generation", "created_by"
        )
    )


def share_links_of(*, team, collection: Collection | None = None, result: Result | None = None):
    links = for_team(ShareLink, team).active().select_related("created_by")
    if collection is not None:
        return list(links.filter(collection=collection))
    return list(links.filter(result=result))


def share_link_for_team(*, team, pk: int) -> ShareLink:
    return get_for_team_or_404(
        ShareLink.objects.select_related("collection", "result"), team=team, pk=pk
    )


def active_share_link(*, token: str) -> ShareLink:
    """The link behind a token, if it is still valid; 404 otherwise (expired, revoked, unknown).

    Not scoped to a team: the token is the only credential a visitor has.
    """
    link = (
        ShareLink.objects.active()
        .select_related("team", "collection", "result", "result__generation", "created_by")
        .filter(token=token)
        .first()
    )
    if link is None:
        raise Http404("This link has expired or was revoked.")
    return link


def shared_result(*, link: ShareLink, pk: int) -> Result:
    """A result that `link` shows: its own result, or one in its collection."""
    results = for_team(Result, link.team_id).exclude(thumbnail="").select_related("generation")
    if link.result_id:
        results = results.filter(pk=link.result_id)
    else:
        results = results.filter(collection_items__collection_id=link.collection_id)
    result = get_for_team_or_404(results, team=link.team_id, pk=pk)
    if not may_see_result(result=result, membership=None):  # a visitor sees what a viewer sees
        raise Http404("No such image.")
    return result


def share_link_covers(*, token: str, result: Result) -> bool:
    """Whether an active link with `token` shows `result` (media access, access.py)."""
    link = ShareLink.objects.active().filter(token=token, team_id=result.team_id).first()
    if link is None:
        return False
    if link.result_id:
        return link.result_id == result.pk
    return CollectionItem.objects.filter(collection_id=link.collection_id, result=result).exists()
