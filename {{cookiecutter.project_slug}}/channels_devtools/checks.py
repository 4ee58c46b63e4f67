"""Register the wiring checks as Django system checks (``manage.py check``)."""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from . import wiring


def settings_module() -> str:
    # override_settings (as in tests) hides SETTINGS_MODULE; the environment has it.
    return settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")


@checks.register()
def channels_wiring(**kwargs: Any) -> list[checks.CheckMessage]:
    if not settings_module():
        return []  # settings configured in code: there is no settings source to read
    # BASE_DIR is where manage.py is; a project that defines none is read from cwd.
    base_dir = Path(getattr(settings, "BASE_DIR", None) or Path.cwd())
    try:
        # The live settings, as Django sees them, override what the source says.
        findings = wiring.check_project(
            base_dir,
            settings_module(),
            installed_apps=list(settings.INSTALLED_APPS),
            asgi_application=getattr(settings, "ASGI_APPLICATION", None),
        )
    except Exception as error:  # noqa: BLE001  (a guard must not stop manage.py)
        return [
            checks.Warning(
                f"The Channels wiring checks could not read this project: {error!r}.",
                hint="Please report it; SILENCED_SYSTEM_CHECKS = "
                '["channels_template.W002"] silences this warning meanwhile.',
                id="channels_template.W002",
            )
        ]
    return [
        (checks.Error if finding.is_error else checks.Warning)(
            finding.message,
            hint=finding.hint,
            obj=f"{finding.path}:{finding.line}",
            id=finding.id,
        )
        for finding in findings
    ]


@checks.register(checks.Tags.security, deploy=True)
def wildcard_hosts(**kwargs: Any) -> list[checks.CheckMessage]:
    """Wildcards in ALLOWED_HOSTS: Django answers them, WebSocket origins do not."""
    wildcards = [h for h in settings.ALLOWED_HOSTS if h == "*" or h.startswith(".")]
    if not wildcards:
        return []
    noun = "wildcard" if len(wildcards) == 1 else "wildcards"
    return [
        checks.Warning(
            f"ALLOWED_HOSTS holds the {noun} {', '.join(map(repr, wildcards))}: "
            "Django answers every host it matches, but WebSocket origins take only "
            "https://<host> for named hosts ('.example.com' gives "
            "https://example.com, not its subdomains; '*' gives none).",
            hint="Name each host in DJANGO_ALLOWED_HOSTS, and list other pages' "
            "origins in DJANGO_WEBSOCKET_ALLOWED_ORIGINS.",
            id="channels_template.W004",
        )
    ]
