"""HTTP URL configuration; WebSocket routes live in each app's routing.py."""

from django.contrib import admin
from django.contrib.auth.views import {% if cookiecutter.demo_page == "yes" %}LoginView, {% endif %}LogoutView
from django.urls import path

from {{ cookiecutter.app_slug }} import views

urlpatterns = [
    path("admin/", admin.site.urls),
{%- if cookiecutter.demo_page == "yes" %}
    path("", views.index, name="index"),
    # Django's own login view (LOGIN_URL's default): the demo's Notifications panel.
    path("accounts/login/", LoginView.as_view(), name="login"),
{%- endif %}
    # POST: ends the session, and closes its sockets with 4001 (the app's access.py).
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path(
        "notifications/test/",
        views.push_test_notification,
        name="push_test_notification",
    ),
    # settings.CORS_URLS_REGEX names this path: move them together.
    path("ws-token/", views.websocket_token, name="websocket_token"),
]
