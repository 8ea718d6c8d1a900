"""Client links: made and watched by the team on a collection; opened by a
client with no account. The client's pages never tell why a link stopped
beyond "expired" or "revoked", and their media answer 404 once it did."""

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import proofing, selectors
from .models import ClientLink
from .proof import stamp
from .proofing_forms import ClientLinkForm, ClientNameForm, ClientPasswordForm
from .services import GalleryRuleError
from .views import MEDIA_CSP, _membership, _private

TEAM_PANEL = "gallery/client_links.html"
CLIENT_PAGE = "gallery/client.html"
GATE_PAGE = "gallery/client_gate.html"
GONE_PAGE = "gallery/client_gone.html"


# --- the team's side: on the collection page -----------------------------------------------------


@require_http_methods(["GET", "POST"])
def collection_client_links(request, pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    form, created = ClientLinkForm(), None
    if request.method == "POST":
        form = ClientLinkForm(request.POST)
        if form.is_valid():
            try:
                created = proofing.client_link_create(
                    membership=_membership(request),
                    collection=collection,
                    expires_at=form.expires_at,
                    password=form.cleaned_data["password"],
                    allow_downloads=form.cleaned_data["allow_downloads"],
                    proof_overlay=form.cleaned_data["proof_overlay"],
                )
                form = ClientLinkForm()
            except GalleryRuleError as exc:
                form.add_error("expires_on", str(exc))
        if not request.htmx:
            return redirect("collection_detail", pk=collection.pk)
    return render(
        request, f"{TEAM_PANEL}#panel", _panel_context(request, collection, form, created)
    )


@require_POST
def client_link_revoke(request, pk: int):
    link = proofing.client_link_for_team(team=request.team, pk=pk)
    proofing.client_link_revoke(membership=_membership(request), link=link)
    if not request.htmx:
        return redirect("collection_detail", pk=link.collection_id)
    return render(request, f"{TEAM_PANEL}#panel", _panel_context(request, link.collection))


@require_GET
def collection_client_activity(request, pk: int):
    """The collection page asks every few seconds: did a client answer after `seq`?"""
    try:
        seq = int(request.GET.get("seq", ""))
    except ValueError:
        return HttpResponseBadRequest("seq must be an integer")
    if request.team is None or request.team.change_seq <= seq:
        return HttpResponse(status=204)
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    context = {
        "collection": collection,
        "seq": request.team.change_seq,
        "changed": proofing.activity_changed_since(
            team=request.team, collection=collection, seq=seq
        ),
        "activity": proofing.activity(team=request.team, collection=collection),
        "oob": True,
    }
    return render(request, f"{TEAM_PANEL}#updates", context)


def _panel_context(request, collection, form=None, created=None) -> dict:
    links = proofing.client_links_of(team=request.team, collection=collection)
    for link in links:
        link.url = request.build_absolute_uri(reverse("client_link", args=[link.token]))
    return {
        "collection": collection,
        "client_links": links,
        "client_form": form or ClientLinkForm(),
        "client_created": created,
        "activity": proofing.activity(team=request.team, collection=collection),
        "seq": request.team.change_seq,
    }


# --- the client's side -------------------------------------------------------------------------


def _state(request, link: ClientLink) -> dict:
    return request.session.get(f"client-link:{link.pk}", {})


def _save_state(request, link: ClientLink, **changes) -> dict:
    state = {**_state(request, link), **changes}
    request.session[f"client-link:{link.pk}"] = state
    return state


def _open_link(request, token: str):
    """(link, state) for an active link, else the plain page that says it stopped."""
    link = proofing.link_by_token(token)
    if link is None:
        raise Http404("No such link.")
    if not link.is_active:
        page = render(request, GONE_PAGE, {"status": link.status}, status=410)
        return None, _private(page)
    return link, _state(request, link)


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _unlocked(link, state) -> bool:
    return not link.has_password or state.get("unlocked") is True


@login_not_required
@require_GET
def client_link(request, token: str):
    link, state = _open_link(request, token)
    if link is None:
        return state
    if not _unlocked(link, state):
        return _gate(request, link, ClientPasswordForm())
    if not state.get("name"):
        return _gate(request, link, ClientNameForm())
    results = proofing.link_results(link=link)
    picks = proofing.picks_by_result(link=link, client_key=state["key"])
    for result in results:
        result.pick = picks.get(result.pk)
    context = {"link": link, "results": results, "client_name": state["name"]}
    return _private(render(request, CLIENT_PAGE, context))


@login_not_required
@require_POST
def client_unlock(request, token: str):
    link, state = _open_link(request, token)
    if link is None:
        return state
    form = ClientPasswordForm(request.POST)
    address = _address(request)
    if proofing.password_locked(link=link, address=address):
        form.is_valid()
        form.add_error(None, "Too many wrong passwords. Wait a quarter of an hour, then try again.")
        return _gate(request, link, form, status=429)
    if form.is_valid() and proofing.password_try(
        link=link, password=form.cleaned_data["password"], address=address
    ):
        request.session.cycle_key()  # a fresh session id once it grants something
        _save_state(request, link, unlocked=True)
        return redirect("client_link", token=link.token)
    if form.is_valid():
        form.add_error("password", "That password is not right.")
    return _gate(request, link, form)


@login_not_required
@require_POST
def client_name(request, token: str):
    link, state = _open_link(request, token)
    if link is None:
        return state
    if not _unlocked(link, state):
        return redirect("client_link", token=link.token)
    form = ClientNameForm(request.POST)
    if not form.is_valid():
        return _gate(request, link, form)
    _save_state(request, link, name=form.cleaned_data["name"], key=proofing.new_client_key())
    proofing.client_visit(link=link, name=form.cleaned_data["name"])
    return redirect("client_link", token=link.token)


@login_not_required
@require_POST
def client_pick(request, token: str, pk: int):
    link, state = _open_link(request, token)
    if link is None:
        return state
    result = proofing.link_result(link=link, pk=pk)
    if not _unlocked(link, state) or not state.get("name"):
        return redirect("client_link", token=link.token)
    error = ""
    try:
        result.pick = proofing.client_pick(
            link=link,
            client_key=state["key"],
            client_name=state["name"],
            result=result,
            action=request.POST.get("action", ""),
            comment=request.POST.get("comment", ""),
        )
    except GalleryRuleError as exc:
        error = str(exc)
        result.pick = proofing.picks_by_result(link=link, client_key=state["key"]).get(result.pk)
    if not request.htmx:
        return redirect("client_link", token=link.token)
    context = {"link": link, "result": result, "error": error}
    return _private(render(request, f"{CLIENT_PAGE}#card", context))


@login_not_required
@require_GET
def client_media(request, token: str, pk: int, kind: str):
    """A preview (stamped when the link says so), or the original if downloads are on."""
    link = proofing.link_by_token(token)
    if link is None or not link.is_active or not _unlocked(link, _state(request, link)):
        raise Http404
    if kind not in ("preview", "original") or (kind == "original" and not link.allow_downloads):
        raise Http404
    result = proofing.link_result(link=link, pk=pk)
    if kind == "original":
        extension = result.image.name.rsplit(".", 1)[-1]
        response = FileResponse(
            result.image.open("rb"),
            content_type=result.content_type,
            as_attachment=True,
            filename=f"studio-{result.generation_id}-{result.position + 1}.{extension}",
        )
    elif link.proof_overlay:
        if result.thumbnail.name.endswith(".svg"):
            raise Http404("Vector previews cannot carry the stamp.")
        with result.thumbnail.open("rb") as source:
            response = HttpResponse(stamp(source.read()), content_type="image/webp")
    else:
        response = FileResponse(
            result.thumbnail.open("rb"), content_type=result.thumbnail_content_type
        )
    # A revoked link must stop at once: no copy kept by the browser.
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    return response


def _gate(request, link, form, status=200):
    context = {
        "link": link,
        "form": form,
        "asks": "password" if "password" in form.fields else "name",
    }
    return _private(render(request, GATE_PAGE, context, status=status))
