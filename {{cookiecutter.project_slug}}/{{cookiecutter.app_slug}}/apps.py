from django.apps import AppConfig


class {{ cookiecutter.app_slug.title().replace('_', '') }}Config(AppConfig):
    name = "{{ cookiecutter.app_slug }}"

    def ready(self) -> None:
        # Logout, deactivation, a new password, deletion: each ends the user's
        # sockets (access.py).
        from .access import connect_signals

        connect_signals()
