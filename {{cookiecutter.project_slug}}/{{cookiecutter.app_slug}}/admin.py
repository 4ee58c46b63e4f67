from django.contrib import admin

from .models import ChatMessage


@admin.register(ChatMessage)
# Not ModelAdmin[ChatMessage]: only django-stubs makes it subscriptable.
class ChatMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "room", "author", "sent", "text"]
    # Not list_filter on room: clients name rooms freely, and its sidebar would
    # list every one ever used.
    search_fields = ["room", "text"]
    date_hierarchy = "sent"
    # The author's row, not a select of every user on the site.
    raw_id_fields = ["author"]
