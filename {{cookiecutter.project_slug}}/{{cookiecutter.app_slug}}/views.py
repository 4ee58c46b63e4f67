"""HTTP views: {% if cookiecutter.demo_page == "yes" %}the demo page, {% endif %}a push from a view, WebSocket tokens."""

{% if cookiecutter.demo_page == "yes" -%}
from django.conf import settings
{% endif -%}
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
{%- if cookiecutter.demo_page == "yes" %}
from django.shortcuts import render
{%- endif %}
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .push import push_to_user
from .tokens import BROWSER_LIFETIME, make_token
{%- if cookiecutter.demo_page == "yes" %}


def index(request: HttpRequest) -> HttpResponse:
    # The client side lives in static/{{ cookiecutter.app_slug }}/demo.js.
    context = {"chat_login_required": settings.CHAT_LOGIN_REQUIRED}
    return render(request, "{{ cookiecutter.app_slug }}/index.html", context)
{%- endif %}


@require_POST
def push_test_notification(request: HttpRequest) -> HttpResponse:
    """Push a notification to the logged-in user's own sockets (every open tab).

    A POST, so Django's CSRF protection applies: send the csrftoken as a form
    field or an X-CSRFToken header. 204 when pushed, 403 for anonymous users.
    """
    if not request.user.is_authenticated:
        raise PermissionDenied
    name = request.user.get_username()
    push_to_user(request.user, {"message": f"Test notification for {name}."})
    return HttpResponse(status=204)


# Exempt from CSRF, which guards actions: this POST changes nothing, and its answer
# (the token) can be read only by this site's pages and, through CORS, those of
# DJANGO_WEBSOCKET_ALLOWED_ORIGINS, which cannot fetch Django's CSRF cookie.
@csrf_exempt
@require_POST
@never_cache
def websocket_token(request: HttpRequest) -> JsonResponse:
    """A short-lived token for the logged-in user's next WebSocket handshake.

    For pages, including those of a separate frontend, which call it with the
    session cookie (fetch with credentials: "include") and offer the token as
    new WebSocket(url, ["bearer", "bearer." + token]). 403 for anonymous users.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in first: tokens name a user."}, status=403)
    token = make_token(request.user, BROWSER_LIFETIME)
    return JsonResponse({"token": token.value, "expires": token.expires.isoformat()})
