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
    # The live settings, as Django sees them, override what the source says.
    findings = wiring.check_project(
        Path(settings.BASE_DIR),
        settings_module(),
        installed_apps=list(settings.INSTALLED_APPS),
        asgi_application=getattr(settings, "ASGI_APPLICATION", None),
    )
    return [
        (checks.Error if finding.is_error else checks.Warning)(
            finding.message,
            hint=finding.hint,
            obj=f"{finding.path}:{finding.line}",
            id=finding.id,
        )
        for finding in findings
    ]
