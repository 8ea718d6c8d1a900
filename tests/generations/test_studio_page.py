from django.urls import reverse

from studio.generations.models import Generation
from tests.fixtures.factories import make_user


def test_page_has_labelled_form_and_team_cards(client_in, team, user):
    Generation.objects.create(team=team, created_by=user, prompt="mine <b>bold</b>")
    other = make_user()
    Generation.objects.create(team=other.teams.get(), created_by=other, prompt="someone else's")

    html = client_in.get(reverse("studio")).content.decode()

    for label in (
        "Prompt",
        "Reference images",
        "Aspect ratio",
        "Number of results",
        "Watermark",
        "Temporary output",
    ):
        assert f">{label}</label>" in html, label
    assert ">Generate</button>" in html
    assert 'data-status="queued"' in html
    assert "mine &lt;b&gt;bold&lt;/b&gt;" in html
    assert "someone else" not in html


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("studio"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
