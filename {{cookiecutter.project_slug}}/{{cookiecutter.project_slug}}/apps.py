from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package as an app, so that it can register its own checks.

    The wiring checks live here, not in the Channels app: an app never imports
    the project, which keeps it reusable.
    """

    name = "{{ cookiecutter.project_slug }}"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
