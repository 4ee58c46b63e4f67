"""What a client must not miss: chat messages, stored before they are sent.

A channel layer delivers at most once, and a socket drops whenever a phone changes
network or a server restarts. Each stored message has an id (its primary key: it
grows within a room as within the table), and a client that reconnects with
?since=<the greatest id it saw> gets what it missed (history.py).
"""

from django.conf import settings
from django.db import models


class ChatMessage(models.Model):
    room = models.CharField(max_length=64)  # the name in ws/chat/<room>/
    # Null for an anonymous author; a deleted user's messages stay, unsigned.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    text = models.TextField()
    sent = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # The replay's query: a room's messages after an id, in id order.
        indexes = [models.Index(fields=["room", "id"], name="chat_room_id")]

    def __str__(self) -> str:
        return f"{self.room} #{self.pk}: {self.text[:40]}"
