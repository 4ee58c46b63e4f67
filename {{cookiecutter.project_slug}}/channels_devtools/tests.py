"""The wiring checker finds nothing wrong in this project as it stands."""

import os
from pathlib import Path

from django.conf import settings

from . import wiring


def test_wiring_has_no_findings() -> None:
    settings_module = os.environ["DJANGO_SETTINGS_MODULE"]
    assert wiring.check_project(Path(settings.BASE_DIR), settings_module) == []
