"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels consumers.

Production servers load ``{{ cookiecutter.project_slug }}.asgi:application``; so does
``manage.py runserver`` through ASGI_APPLICATION.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "{{ cookiecutter.project_slug }}.settings",
)

# Set Django up (settings, app registry) before importing anything that may import
# models: routing imports consumers, consumers import models. A production server
# imports this module cold and would fail with AppRegistryNotReady; runserver hides
# the mistake because Django is already set up there.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import re_path

import {{ cookiecutter.app_slug }}.routing
from {{ cookiecutter.project_slug }}.limits import RateLimitMiddleware
from {{ cookiecutter.project_slug }}.security import (
    AuthMiddlewareStack,
    BrowserOriginValidator,
    WebsocketRefuser,
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(
            AuthMiddlewareStack(
                # Every consumer's client, at most so many messages a second.
                RateLimitMiddleware(
                    URLRouter(
                        [
                            *{{ cookiecutter.app_slug }}.routing.websocket_urlpatterns,
                            # Refuse unknown paths with a clean 403 rather than
                            # URLRouter's ValueError (a 500 and a traceback).
                            re_path(r"", WebsocketRefuser.as_asgi()),
                        ]
                    )
                )
            )
        ),
    }
)
