"""HTTP URL configuration; WebSocket routes live in each app's routing.py."""

from django.contrib import admin
from django.urls import path
{%- if cookiecutter.demo_page == "yes" %}

from {{ cookiecutter.app_slug }} import views
{%- endif %}

urlpatterns = [
    path("admin/", admin.site.urls),
{%- if cookiecutter.demo_page == "yes" %}
    path("", views.index, name="index"),
{%- endif %}
]
