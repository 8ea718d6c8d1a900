"""Sign-in required for every view, and an htmx request told so in a way htmx acts on."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.contrib.auth.views import redirect_to_login
from django_htmx.http import HttpResponseClientRedirect


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's, except for htmx requests from a page whose session has ended.

    Django answers them with a redirect that the browser follows inside the XHR:
    htmx then gets the sign-in page as a fragment (swapped into a card, or lost
    in a poll), and rendering it sets a fresh CSRF cookie that breaks a sign-in
    form open in another tab. Here the tab itself goes to the sign-in page, and
    comes back to the page it was on.
    """

    def handle_no_permission(self, request, view_func):
        htmx = getattr(request, "htmx", None)
        if not htmx:
            return super().handle_no_permission(request, view_func)
        # The page's own address, only when it is ours (django-htmx checks the origin).
        back_to = htmx.current_url_abs_path or "/"
        to_login = redirect_to_login(
            back_to, self.get_login_url(view_func), self.get_redirect_field_name(view_func)
        )
        return HttpResponseClientRedirect(to_login["Location"])
