"""The gallery, collections and share links; and media bytes: every original,
thumbnail and reference goes through here, and whether a result may be seen
is decided in one place (access.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag, urlencode
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, push_url, trigger_client_event

from studio.generations import downloads
from studio.generations import selectors as generation_selectors
from studio.generations.models import Reference, Result

from . import selectors, semantic, services
from .access import result_visible_to
from .forms import CollectionForm, GalleryFilterForm, ShareLinkForm
from .services import GalleryRuleError

PAGE = "gallery/index.html"
COLLECTIONS_PAGE = "gallery/collections.html"
COLLECTION_PAGE = "gallery/collection.html"
SHARE_LINKS_PAGE = "gallery/share_links.html"
SHARED_PAGE = "gallery/shared.html"

KINDS = {"original", "thumbnail"}
# Media is shown by the studio's own pages only, and an SVG opened on its own
# must not run scripts: a sandboxing policy on every media response.
MEDIA_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


# --- the gallery ------------------------------------------------------------------------------


@require_GET
def gallery(request):
    if request.team is None:
        return redirect("team_list")
    form = GalleryFilterForm(request.GET, team=request.team)
    form.is_valid()
    if "collection" in form.errors:  # another team's collection id: not told apart
        raise Http404("No such collection.")
    filters = form.filters(user=request.user)
    hits = semantic.description_hits(team=request.team, query=filters.q) if filters.q else None
    page = _page(request, filters, hits=hits)
    if filters.sort != selectors.NEWEST or filters.q:  # a search ranks: its first is not newest
        newest = selectors.newest_cursor(team=request.team)
    else:
        newest = selectors.Cursor.after(page["results"][0]) if page["results"] else None
    # The news poller starts from what the middleware read before the page's rows.
    context = {
        "form": form,
        "seq": request.team.change_seq,
        "newest": newest,
        "collections": selectors.collection_choices(team=request.team),  # the selection bar's
        "search_note": hits.note if hits else "",
        **page,
    }
    fragments = {"gallery-results": "results", "gallery-more": "page"}
    response = _render(request, PAGE, context, fragments)
    if request.htmx and request.htmx.trigger == "gallery-filters":
        # The address bar gets the filters in use, not every empty field of the form.
        query = urlencode([(k, v) for k, v in request.GET.items() if v and k != "cursor"])
        push_url(response, f"{request.path}?{query}" if query else request.path)
    return response


@require_GET
def gallery_news(request):
    """Asked every 2 s by the gallery page (and by a push, when one comes): have
    new images landed that match its filters, and which of its images went to
    the Trash? While the team's change counter has not moved the answer is a 204
    from what the middleware already read; otherwise a few indexed reads,
    bounded by what changed, not by the gallery's size."""
    try:
        seq = int(request.GET.get("seq", ""))
        after = selectors.Cursor.parse(request.GET["after"]) if request.GET.get("after") else None
    except ValueError:
        return HttpResponseBadRequest("seq must be an integer and after a gallery cursor")
    if request.team is None:
        raise PermissionDenied("You are not a member of any team.")
    if request.team.change_seq <= seq:
        return HttpResponse(status=204)
    form = GalleryFilterForm(request.GET, team=request.team)
    form.is_valid()
    fresh = selectors.has_newer_results(
        team=request.team,
        membership=request.membership,
        filters=form.filters(user=request.user),
        after=after,
    )
    # Images moved to the Trash since: gallery.js drops their tiles at once.
    gone = generation_selectors.trashed_result_ids_since(team=request.team, seq=seq)
    if gone is None:  # too much changed to tell tile by tile (a page left open for long)
        return HttpResponseClientRefresh()
    context = {"seq": request.team.change_seq, "newest": after, "fresh": fresh}
    response = render(request, f"{PAGE}#news", context)
    if gone:
        trigger_client_event(response, "gallery:deleted", {"ids": gone})
    return response


@require_POST
def favourite_toggle(request, pk: int):
    result = _result(request, pk)
    result.is_favourite = services.favourite_toggle(membership=_membership(request), result=result)
    if not request.htmx:
        return redirect("gallery")
    response = render(request, f"{PAGE}#favourite", {"result": result})
    # Other buttons for the same image (a tile behind the viewer) follow.
    return trigger_client_event(
        response, "gallery:favourite", {"id": result.pk, "on": result.is_favourite}
    )


@require_GET
def result_organise(request, pk: int):
    """The viewer's panel: favourite, collections and share links of one result."""
    result = _result(request, pk)
    return render(request, f"{PAGE}#organise", _organise_context(request, result))


@require_GET
def result_collections(request, pk: int):
    """The add-to-collection menu of one result (a tile's or the viewer's)."""
    result = _result(request, pk)
    return render(request, f"{PAGE}#collection-menu", _menu_context(request, result))


# --- collections ------------------------------------------------------------------------------


@require_GET
def collection_list(request):
    if request.team is None:
        return redirect("team_list")
    return render(request, COLLECTIONS_PAGE, _collections_context(request, CollectionForm()))


@require_POST
def collection_create(request):
    """From the collections page (a new board) or a result's menu (a board with that image)."""
    membership = _membership(request)
    result = None
    if request.POST.get("result"):
        result = _result(request, request.POST["result"])
    form = CollectionForm(request.POST)
    if form.is_valid():
        try:
            collection = services.collection_create(
                membership=membership, name=form.cleaned_data["name"], result=result
            )
        except GalleryRuleError as exc:
            form.add_error("name", str(exc))
        else:
            if result is None:
                return redirect("collection_detail", pk=collection.pk)
    if result is not None and request.htmx:
        return render(
            request, f"{PAGE}#collection-menu", _menu_context(request, result, new_form=form)
        )
    if result is not None:
        return redirect("gallery")
    return render(request, COLLECTIONS_PAGE, _collections_context(request, form))


@require_GET
def collection_detail(request, pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    page = _page(request, selectors.Filters(collection=collection))
    context = {
        "collection": collection,
        "rename_form": CollectionForm(initial={"name": collection.name}),
        **_share_context(request, collection=collection),
        **page,
    }
    return _render(request, COLLECTION_PAGE, context, {"gallery-more": "page"})


@require_POST
def collection_rename(request, pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    form = CollectionForm(request.POST)
    if form.is_valid():
        try:
            services.collection_rename(
                membership=_membership(request),
                collection=collection,
                name=form.cleaned_data["name"],
            )
        except GalleryRuleError as exc:
            form.add_error("name", str(exc))
    if form.errors:
        page = _page(request, selectors.Filters(collection=collection))
        context = {
            "collection": collection,
            "rename_form": form,
            **_share_context(request, collection=collection),
            **page,
        }
        return render(request, COLLECTION_PAGE, context)
    return redirect("collection_detail", pk=collection.pk)


@require_POST
def collection_delete(request, pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    services.collection_delete(membership=_membership(request), collection=collection)
    return redirect("collection_list")


@require_POST
def collection_add(request, pk: int, result_pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    result = _result(request, result_pk)
    services.collection_add(membership=_membership(request), collection=collection, result=result)
    return _after_item_change(request, result, collection)


@require_POST
def collection_remove(request, pk: int, result_pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    result = _result(request, result_pk)
    services.collection_remove(
        membership=_membership(request), collection=collection, result=result
    )
    return _after_item_change(request, result, collection)


@require_POST
def collection_cover(request, pk: int, result_pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    result = _result(request, result_pk)
    try:
        services.collection_set_cover(
            membership=_membership(request), collection=collection, result=result
        )
    except GalleryRuleError as exc:
        return HttpResponseBadRequest(str(exc))
    if request.htmx:
        response = HttpResponse(status=204)
        return trigger_client_event(response, "studio:done", {"message": "Cover changed."})
    return redirect("collection_detail", pk=collection.pk)


# --- share links --------------------------------------------------------------------------------


@require_POST
def collection_share(request, pk: int):
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    return _share(request, collection=collection)


@require_POST
def result_share(request, pk: int):
    result = _result(request, pk)
    return _share(request, result=result)


@require_GET
def share_link_list(request):
    if request.team is None:
        return redirect("team_list")
    links = _with_urls(request, selectors.share_links_for_team(team=request.team))
    return render(request, SHARE_LINKS_PAGE, {"links": links, "show_target": True})


@require_POST
def share_link_revoke(request, pk: int):
    link = selectors.share_link_for_team(team=request.team, pk=pk)
    services.share_link_revoke(membership=_membership(request), link=link)
    link.refresh_from_db()
    if request.htmx:
        context = {"link": _with_urls(request, [link])[0], "show_target": "target" in request.POST}
        return render(request, f"{SHARE_LINKS_PAGE}#link-row", context)
    return redirect("share_link_list")


# --- what a share link shows, to anyone who has it ----------------------------------------------


@login_not_required
@require_GET
def shared(request, share_token: str):
    link = _active_link_or_gone(request, share_token)
    if isinstance(link, HttpResponse):
        return link
    if link.result_id:
        result = selectors.shared_result(link=link, pk=link.result_id)
        return _private(render(request, SHARED_PAGE, {"link": link, "result": result}))
    page = _page(request, selectors.Filters(collection=link.collection), team=link.team)
    context = {"link": link, **page}
    return _private(_render(request, SHARED_PAGE, context, {"gallery-more": "page"}))


@login_not_required
@require_GET
def shared_result(request, share_token: str, pk: int):
    link = _active_link_or_gone(request, share_token)
    if isinstance(link, HttpResponse):
        return link
    result = selectors.shared_result(link=link, pk=pk)
    return _private(render(request, SHARED_PAGE, {"link": link, "result": result}))


@login_not_required
@require_GET
def shared_media(request, share_token: str, pk: int, kind: str):
    response = result_media(request, pk, kind)
    # A revoked link must stop at once: no copy kept by the browser.
    response["Cache-Control"] = "no-store"
    return response


# --- media --------------------------------------------------------------------------------------


@require_GET
def result_media(request, pk: int, kind: str):
    if kind not in KINDS:
        raise Http404
    result = get_object_or_404(Result, pk=pk)
    if not result_visible_to(request, result):
        raise Http404
    field = result.image if kind == "original" else result.thumbnail
    if not field:
        raise Http404("Not stored yet")
    content_type = result.content_type if kind == "original" else result.thumbnail_content_type
    extension = field.name.rsplit(".", 1)[-1]
    return _private_file(
        request,
        field,
        content_type,
        etag=f"{result.sha256}-{kind}" if result.sha256 else None,
        as_attachment=request.GET.get("download") == "1",
        filename=f"{result.download_name.rsplit('.', 1)[0]}.{extension}",  # from the prompt
    )


@require_GET
def reference_media(request, pk: int):
    reference = get_object_or_404(
        Reference, pk=pk, team__memberships__user_id=request.user.pk
    )
    return _private_file(
        request, reference.image, reference.content_type, etag=reference.sha256 or None
    )


def _private_file(request, field, content_type, *, etag, as_attachment=False, filename=None):
    """The bytes, to someone the caller has just checked may see them.

    Browsers keep a copy but ask again every time (no-cache), so a removed
    member or a rejected image stops showing at once; while access holds, the
    ETag (the content hash) makes that question a 304 without the bytes.
    """
    etag = quote_etag(etag) if etag else None
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _media_headers(not_modified, etag)
    response = FileResponse(
        field.open("rb"),
        content_type=content_type,
        as_attachment=as_attachment,
        filename=filename or field.name.rsplit("/", 1)[-1],
    )
    return _media_headers(response, etag)


def _media_headers(response, etag):
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    return response


# --- helpers ------------------------------------------------------------------------------------


def _result(request, pk):
    """One of the current team's results that this person may see, or 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):  # from a form field: anything may come
        raise Http404("No such image.") from None
    return selectors.result_for_team(team=request.team, pk=pk, membership=request.membership)


def _membership(request):
    if request.membership is None:
        raise PermissionDenied("You are not a member of any team.")
    return request.membership


def _render(request, template, context, partials: dict[str, str]):
    """The page, or only the fragment the HTMX request targets (radiofeed's helper).

    A history restore (back button after the cache is gone) gets the whole page.
    """
    htmx = request.htmx
    if htmx and not htmx.history_restore_request and htmx.target in partials:
        template = f"{template}#{partials[htmx.target]}"
    return render(request, template, context)


def _page(request, filters, *, team=None, hits=None) -> dict:
    """One page of results by the `cursor` in the query string, and the next page's URL."""
    text = request.GET.get("cursor")
    try:
        cursor = selectors.parse_cursor(text) if text else None
    except ValueError:
        raise BadRequest("That page cursor is not one this gallery wrote.") from None
    try:
        page = selectors.gallery_results(
            team=team or request.team,
            membership=request.membership if team is None else None,
            filters=filters,
            cursor=cursor,
            hits=hits,
        )
    except ValueError as exc:  # a cursor of another sort order
        raise BadRequest(str(exc)) from None
    next_query = None
    if page.next_cursor is not None:
        query = request.GET.copy()
        query["cursor"] = str(page.next_cursor)
        next_query = query.urlencode()
    return {"page": page, "results": page.results, "next_query": next_query, "cursor": cursor}


def _collections_context(request, form) -> dict:
    return {"collections": selectors.collections_for_team(team=request.team), "form": form}


def _menu_context(request, result, *, new_form=None) -> dict:
    return {
        "result": result,
        "collections": selectors.collections_of_result(team=request.team, result=result),
        "new_form": new_form or CollectionForm(),
    }


def _organise_context(request, result) -> dict:
    result.is_favourite = selectors.is_favourite(user=request.user, result=result)
    return {**_menu_context(request, result), **_share_context(request, result=result)}


def _share_context(request, *, collection=None, result=None, created=None, form=None) -> dict:
    links = selectors.share_links_of(team=request.team, collection=collection, result=result)
    if created is not None:
        links = [created, *(link for link in links if link.pk != created.pk)]
    if collection is not None:
        post_url = reverse("collection_share", args=[collection.pk])
    else:
        post_url = reverse("result_share", args=[result.pk])
    return {
        "share_links": _with_urls(request, links),
        "share_form": form or ShareLinkForm(),
        "share_post_url": post_url,
        "share_created": created,
    }


def _with_urls(request, links):
    for link in links:
        link.url = request.build_absolute_uri(reverse("shared", args=[link.token]))
    return links


def _share(request, *, collection=None, result=None):
    form = ShareLinkForm(request.POST)
    created = None
    if form.is_valid():
        try:
            created = services.share_link_create(
                membership=_membership(request),
                collection=collection,
                result=result,
                lifetime=form.lifetime,
            )
        except GalleryRuleError as exc:
            form.add_error("expires_in", str(exc))
    if not request.htmx:
        if collection is not None:
            return redirect("collection_detail", pk=collection.pk)
        return redirect("share_link_list")
    context = _share_context(
        request, collection=collection, result=result, created=created, form=form
    )
    return render(request, f"{PAGE}#share-panel", context)


def _after_item_change(request, result, collection):
    if not request.htmx:
        return redirect("collection_detail", pk=collection.pk)
    return render(request, f"{PAGE}#collection-menu", _menu_context(request, result))


def _active_link_or_gone(request, token: str):
    try:
        return selectors.active_share_link(token=token)
    except Http404:
        return _private(render(request, SHARED_PAGE, {"gone": True}, status=404))


def _private(response):
    """Share pages: never cached (a revoked link stops at once), never indexed."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# --- several images at once (the gallery's selection) ---------------------------------------


@require_POST
def selection_collect(request):
    """Add the selected images to one collection."""
    pk = _int(request.POST, "collection")
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    ids = _ids(request.POST)
    results = generation_selectors.results_for_download(
        team=request.team, ids=ids, membership=request.membership
    )
    added = sum(
        services.collection_add(membership=_membership(request), collection=collection, result=r)
        for r in results
    )
    message = f"Added {added} image{pluralize(added)} to “{collection.name}”."
    if not request.htmx:
        messages.success(request, message)
        return redirect("collection_detail", collection.pk)
    return trigger_client_event(HttpResponse(status=200), "studio:done", {"message": message})


@require_GET
def collection_zip(request, pk: int):
    """A collection as a zip, with the same file names and metadata.json as a selection."""
    collection = selectors.collection_for_team(team=request.team, pk=pk)
    visible = generation_selectors.results_visible_among(
        team=request.team,
        ids=list(collection.results.values_list("pk", flat=True)),
        membership=request.membership,
    )
    if not visible:
        raise Http404("Nothing in this collection can be downloaded.")
    response = StreamingHttpResponse(downloads.zip_stream(visible), content_type="application/zip")
    name = slugify(collection.name) or "collection"
    response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response


def _ids(data) -> list[int]:
    try:
        return [int(value) for value in data.getlist("ids")]
    except ValueError as exc:
        raise Http404("No such image.") from exc


def _int(data, name: str) -> int:
    try:
        return int(data.get(name, ""))
    except ValueError as exc:
        raise Http404 from exc
