"""HTTP views: {% if cookiecutter.demo_page == "yes" %}the demo page, and {% endif %}a push from a view."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
{%- if cookiecutter.demo_page == "yes" %}
from django.shortcuts import render
{%- endif %}
from django.views.decorators.http import require_POST

from .push import push_to_user
{%- if cookiecutter.demo_page == "yes" %}


def index(request: HttpRequest) -> HttpResponse:
    # The client side lives in static/{{ cookiecutter.app_slug }}/demo.js.
    return render(request, "{{ cookiecutter.app_slug }}/index.html")
{%- endif %}


@require_POST
def push_test_notification(request: HttpRequest) -> HttpResponse:
    """Push a notification to the logged-in user's own sockets (every open tab).

    A POST, so Django's CSRF protection applies: send the csrftoken as a form
    field or an X-CSRFToken header. 204 when pushed, 403 for anonymous users.
    """
    if not request.user.is_authenticated:
        raise PermissionDenied
    push_to_user(request.user, {"message": "Test notification: pushed by a view."})
    return HttpResponse(status=204)
