"""Search by what images show: VideoGen's file search over its descriptions.

`POST /v1/files/search` ranks every kept file of the API key by the cosine
similarity of its description to the query. One key serves every team of a
deployment, so its answer spans all of them: every hit is mapped to a result
of *this* team (by file id) before anything else sees it, and the rest is
dropped here, uncounted. Nothing of another team is cached either: the cache
holds the team's own result ids only, per team and query.

Search calls have their own hourly budget (500 for the whole key): an answer
is cached for STUDIO_SEARCH_CACHE_SECONDS, so typing, paging and filtering
cost one call per query. When the budget is spent (the client's limiter
refuses before sending, or VideoGen answers 429), the gallery falls back to
prompt words alone and says so.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from studio.generations.models import Result
from studio.videogen import client_from_settings
from studio.videogen.errors import RateLimitedError, VideoGenError

log = logging.getLogger(__name__)

# As many as VideoGen gives per call: the key's other teams share the top of the ranking.
SEARCH_RESULTS = 100
MAX_QUERY = 500
BUDGET_SPENT = (
    "Description search is paused: this hour's search budget is spent. "
    "Showing prompt matches only."
)
UNAVAILABLE = "Description search is unavailable right now; showing prompt matches only."
# After a failed call (VideoGen down or unreachable), pages do not wait on it again
# for this long: they show prompt matches at once and say why.
UNAVAILABLE_SECONDS = 30


def _down_key() -> str:
    api = hashlib.sha256(settings.VIDEOGEN_BASE_URL.encode()).hexdigest()[:16]
    return f"gallery:semantic:down:{api}"


@dataclass(frozen=True)
class Hits:
    """This team's results whose description matches, best first, and what to tell."""

    ranked: list[tuple[int, float]] = field(default_factory=list)  # (result id, similarity)
    note: str = ""
    cached: bool = False

    @property
    def ids(self) -> list[int]:
        return [pk for pk, _ in self.ranked]

    @property
    def similarity(self) -> dict[int, float]:
        return dict(self.ranked)


def normalise(query: str) -> str:
    return " ".join(query.lower().split())[:MAX_QUERY]


def _cache_key(team, query: str) -> str:
    # The API (a new key or URL is another set of files) and the team row itself (its
    # creation time too: an id can come back after a database is reset) name the entry.
    api = f"{settings.VIDEOGEN_BASE_URL}|{settings.VIDEOGEN_API_KEY}"
    team_tag = f"{team.pk}.{team.created_at.timestamp() if team.created_at else 0}"
    digest = hashlib.sha256(f"{api}\n{team_tag}\n{query}".encode()).hexdigest()[:40]
    return f"gallery:semantic:v2:{team.pk}:{digest}"


def description_hits(*, team, query: str) -> Hits:
    """This team's kept results ranked by how well their descriptions match `query`."""
    query = normalise(query)
    if not query:
        return Hits()
    key = _cache_key(team, query)
    cached = cache.get(key)
    if cached is not None:
        return Hits([(pk, sim) for pk, sim in cached], cached=True)
    if cache.get(_down_key()):
        return Hits(note=UNAVAILABLE)
    try:
        answer = client_from_settings().search_files(query=query, num_results=SEARCH_RESULTS)
    except RateLimitedError:
        return Hits(note=BUDGET_SPENT)
    except VideoGenError as exc:
        log.warning("file search failed: %s", exc)
        cache.set(_down_key(), 1, timeout=UNAVAILABLE_SECONDS)
        return Hits(note=UNAVAILABLE)
    similarity = {hit.file.id: hit.similarity for hit in answer if hit.file and hit.file.id}
    owned = dict(
        Result.objects.filter(
            team=team,
            remote_file_id__in=list(similarity),
            generation__is_output_temporary=False,  # never searched; stale hits ignored
        )
        .exclude(thumbnail="")
        .values_list("remote_file_id", "pk")
    )
    ranked = sorted(
        ((owned[file_id], sim) for file_id, sim in similarity.items() if file_id in owned),
        key=lambda pair: (-pair[1], -pair[0]),
    )
    cache.set(key, ranked, timeout=settings.STUDIO_SEARCH_CACHE_SECONDS)
    return Hits(ranked)
