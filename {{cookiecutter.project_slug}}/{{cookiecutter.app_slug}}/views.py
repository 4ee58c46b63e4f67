"""HTTP views: the demo page whose panels talk to the consumers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    # The client side lives in static/{{ cookiecutter.app_slug }}/demo.js.
    return render(request, "{{ cookiecutter.app_slug }}/index.html")
