"""WebSocket routes: the Channels counterpart of urls.py."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    # .as_asgi() is to consumers what .as_view() is to class-based views.
    path("ws/sc/", consumers.MySyncConsumer.as_asgi()),
    path("ws/ac/", consumers.MyAsyncConsumer.as_asgi()),
    path("ws/chat/<str:room>/", consumers.ChatConsumer.as_asgi()),
    path("ws/notifications/", consumers.NotificationsConsumer.as_asgi()),
]
