"""HTTP URL configuration; WebSocket routes live in each app's routing.py."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
