"""Search by prompt words, backed by an index: FTS5 on SQLite, GIN full text on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.gallery import search
from studio.gallery.selectors import Filters, gallery_results
from studio.generations.models import Generation
from tests.fixtures.factories import make_user

from .factories import make_result

URL = reverse("gallery")


@pytest.fixture
def prompts(team, user):
    texts = {
        "lighthouse": "A lighthouse on a cliff at dawn, film grain",
        "lighthouses": "Three lighthouses by the sea",
        "harbour": "A quiet harbour at night",
        "running": "A fox running through snow",
        "cafe": "Crème brûlée in a café",
        "markup": "A sign that reads <b>OPEN</b> in neon",
    }
    return {key: make_result(team, user, prompt=text) for key, text in texts.items()}


def found(team, text) -> set[int]:
    return {r.pk for r in gallery_results(team=team, filters=Filters(q=text)).results}


def test_words_prefixes_and_stems(team, prompts):
    p = prompts
    assert found(team, "lighthouse") == {p["lighthouse"].pk, p["lighthouses"].pk}
    assert found(team, "lighthouses") == {p["lighthouse"].pk, p["lighthouses"].pk}
    assert found(team, "light") == {p["lighthouse"].pk, p["lighthouses"].pk}  # as you type
    assert found(team, "LIGHTHOUSE Dawn") == {p["lighthouse"].pk}  # every word, any case
    assert found(team, "run") == {p["running"].pk}
    assert found(team, "harbour night") == {p["harbour"].pk}
    assert found(team, "harbour zebra") == set()
    assert found(team, "brûlée") == {p["cafe"].pk}
    assert found(team, "open neon") == {p["markup"].pk}  # words inside <b> count too


def test_stop_words_and_punctuation_are_ignored(team, prompts):
    p = prompts
    assert found(team, "the lighthouse, on a cliff!") == {p["lighthouse"].pk}
    everyone = set(found(team, ""))
    assert found(team, "   ") == everyone == {r.pk for r in p.values()}
    assert found(team, "the of a") == everyone  # nothing left to look for: no filter


@pytest.mark.parametrize(
    "text",
    ['"', "lighthouse*", 'light" OR "harbour', "NEAR(a b)", "-harbour", "prompt:fox", "a'b",
     "(", "é*"],
)
def test_search_syntax_is_never_passed_through(client_in, prompts, text):
    response = client_in.get(URL, {"q": text})
    assert response.status_code == 200


def test_an_injected_or_does_not_widen_the_search(team, prompts):
    assert found(team, 'harbour" OR "fox') == set()  # all four words must be there


def test_another_teams_prompts_are_never_found(team, prompts):
    stranger = make_user("stranger")
    make_result(stranger.teams.get(), stranger, prompt="A lighthouse of secrets")

    assert found(team, "secrets") == set()
    assert found(team, "lighthouse") == {prompts["lighthouse"].pk, prompts["lighthouses"].pk}


def test_index_follows_new_changed_and_deleted_prompts(team, user, prompts):
    fresh = make_result(team, user, prompt="An orange zeppelin")
    assert found(team, "zeppelin") == {fresh.pk}

    generation = fresh.generation
    generation.prompt = "A green airship"
    generation.save()
    assert found(team, "zeppelin") == set()
    assert found(team, "airship") == {fresh.pk}

    Generation.objects.filter(pk=generation.pk).update(status="failed")  # not a prompt change
    assert found(team, "airship") == {fresh.pk}

    generation.delete()
    assert found(team, "airship") == set()


def _plan(text: str) -> str:
    """The database's plan for the search's own subquery (the one selector's SQL)."""
    subquery = search.matching_generation_ids(text)
    prefix = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix} {subquery.sql}", subquery.params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def test_the_search_uses_the_index_not_a_table_scan(team, prompts):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A handful of rows: the planner would rightly read them all. Ruling
            # out plain scans shows the index matches the query's expression.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        plan = _plan("lighthouse dawn")
        assert f"Bitmap Index Scan on {search.PG_INDEX}" in plan, plan
        assert "Seq Scan" not in plan, plan
    else:
        plan = _plan("lighthouse dawn")
        assert f"{search.FTS_TABLE} VIRTUAL TABLE INDEX" in plan, plan
        assert "generations_generation" not in plan, plan
    # And the gallery's page query goes through that subquery.
    with CaptureQueriesContext(connection) as queries:
        assert found(team, "lighthouse dawn") == {prompts["lighthouse"].pk}
    page_sql = [q["sql"] for q in queries.captured_queries if "generations_result" in q["sql"]]
    assert len(page_sql) == 1 and subquery_sql(page_sql[0]), page_sql
    assert " LIKE " not in page_sql[0].upper()


def subquery_sql(sql: str) -> bool:
    if connection.vendor == "postgresql":
        return f"{search.PG_DOCUMENT} @@ to_tsquery('english'" in sql
    return f"FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH" in sql


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="triggers are how SQLite keeps FTS5 in step"
)
def test_lost_triggers_are_restored_and_the_index_refilled(team, user, prompts):
    """SQLite drops a table's triggers when a migration rebuilds it; after
    every migrate the gallery app puts them back and refills the index."""
    with connection.cursor() as cursor:
        for name in search._SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    unseen = make_result(team, user, prompt="A violet balloon")
    assert found(team, "balloon") == set()

    search.ensure_index(connection)

    assert found(team, "balloon") == {unseen.pk}
    later = make_result(team, user, prompt="A second balloon")
    assert found(team, "balloon") == {unseen.pk, later.pk}
