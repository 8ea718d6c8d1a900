"""The renders of one pushed change share the changed cards' rows
(studio.live.shared), never what one viewer may see of them: each
render still answers exactly as that viewer's own request would."""

from __future__ import annotations

import pytest

from studio.generations.models import Generation
from studio.live.render import render_updates, viewer_of
from studio.live.shared import SharedReads
from studio.teams.models import Membership
from tests.fixtures.factories import make_member, make_user
from tests.live.test_cards import own_answer, thumbnail, unmasked
from tests.live.test_cards import session_of as cookies_of
from tests.review.conftest import State, set_policy, stored_generation

Role = Membership.Role
pytestmark = pytest.mark.django_db(transaction=True)  # renders close connections, as requests do


def viewer(cookies: dict):
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return viewer_of({"headers": [(b"cookie", cookie.encode()), (b"host", b"testserver")],
                      "scheme": "http", "client": ("127.0.0.1", 50000),
                      "server": ("testserver", 80)})


@pytest.mark.parametrize("first", ["owner", "member"])
def test_one_read_for_the_change_and_each_viewer_sees_only_their_own(first):
    owner = make_user("olivia")
    team = owner.teams.get()
    creator = make_member(team, Role.MEMBER, "carla", personal_team=False)
    member = make_member(team, Role.MEMBER, "mona", personal_team=False)
    set_policy(team, require_approval=True)
    generation = stored_generation(team, creator, states=(State.PENDING, State.APPROVED))
    pending, approved = generation.results.order_by("position")
    sessions = {"owner": cookies_of(owner), "member": cookies_of(member),
                "creator": cookies_of(creator)}
    Generation.objects.get(pk=generation.pk).touch()
    cursor = Generation.objects.get(pk=generation.pk).seq - 1

    reads = SharedReads()
    order = [first, *(name for name in ("owner", "member", "creator") if name != first)]
    html = {name: render_updates(viewer(sessions[name]), team.pk, cursor, reads).html
            for name in order}

    assert reads.reads == 1  # the rows were read once, for all three
    # Whoever's render read them, the member never gets the image awaiting review.
    assert thumbnail(approved) in html["member"]
    assert thumbnail(pending) not in html["member"]
    assert "Awaiting review" not in html["member"]
    for name in ("owner", "creator"):  # a reviewer, and the one who made it
        assert thumbnail(pending) in html[name] and "Awaiting review" in html[name]
    for name in order:  # exactly what each one's own poll is answered
        assert unmasked(html[name]) == unmasked(own_answer(sessions[name], cursor))


def test_a_change_after_the_first_render_is_read_again_not_missed():
    owner = make_user("olivia")
    team = owner.teams.get()
    member = make_member(team, Role.MEMBER, "mona", personal_team=False)
    first = stored_generation(team, owner, states=(State.APPROVED,))
    later = stored_generation(team, owner, states=(State.APPROVED,), prompt="a blue heron")
    Generation.objects.get(pk=first.pk).touch()
    cursor = Generation.objects.get(pk=first.pk).seq - 1
    owners, members = viewer(cookies_of(owner)), viewer(cookies_of(member))
    reads = SharedReads()

    before = render_updates(owners, team.pk, cursor, reads)
    Generation.objects.get(pk=later.pk).touch()  # between two renders of the same change
    after = render_updates(members, team.pk, cursor, reads)

    assert reads.reads == 2  # the team's change_seq moved: its own read
    assert f'id="generation-{later.pk}"' not in before.html
    assert f'id="generation-{later.pk}"' in after.html
    assert after.cursor == Generation.objects.get(pk=later.pk).seq


def test_another_team_at_the_same_numbers_gets_its_own_cards():
    olivia, bob = make_user("olivia"), make_user("bob")
    ours, theirs = olivia.teams.get(), bob.teams.get()
    mine = stored_generation(ours, olivia, states=(State.APPROVED,))
    their_card = stored_generation(theirs, bob, states=(State.APPROVED,))
    Generation.objects.get(pk=mine.pk).touch()
    Generation.objects.get(pk=their_card.pk).touch()
    seqs = {Generation.objects.get(pk=g.pk).seq for g in (mine, their_card)}
    assert len(seqs) == 1  # both teams at the same change number
    cursor = seqs.pop() - 1
    reads = SharedReads()

    html_ours = render_updates(viewer(cookies_of(olivia)), ours.pk, cursor, reads).html
    html_theirs = render_updates(viewer(cookies_of(bob)), theirs.pk, cursor, reads).html

    assert reads.reads == 2
    assert f'id="generation-{mine.pk}"' in html_ours
    assert f'id="generation-{their_card.pk}"' not in html_ours
    assert f'id="generation-{their_card.pk}"' in html_theirs
    assert f'id="generation-{mine.pk}"' not in html_theirs
