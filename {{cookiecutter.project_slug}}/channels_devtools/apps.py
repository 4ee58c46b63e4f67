from django.apps import AppConfig


class ChannelsDevtoolsConfig(AppConfig):
    """Tooling for this project, kept out of the project's own packages.

    It registers the Channels wiring checks with ``manage.py check`` and adds
    ``manage.py startconsumer``. Deleting this folder and its INSTALLED_APPS line
    leaves a working project without them.
    """

    name = "channels_devtools"
    verbose_name = "Channels developer tools"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
