"""The demo page as Django renders it: every panel, assets from the project itself."""

from typing import Any

from django.test import Client


def test_index_has_a_panel_per_consumer(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for path in ["/ws/sc/", "/ws/ac/", "/ws/chat/lobby/"]:
        assert f'data-path="{path}"' in html
    # The reusable client first: demo.js builds on it (both deferred, so in order).
    client_tag = '<script src="/static/{{ cookiecutter.app_slug }}/socket.js" defer>'
    demo_tag = '<script src="/static/{{ cookiecutter.app_slug }}/demo.js" defer>'
    assert client_tag in html and demo_tag in html
    assert html.index(client_tag) < html.index(demo_tag)
    # Django rendered its own template tags; cookiecutter's Jinja left them alone.
    {% raw %}assert "{%" not in html and "{{" not in html{% endraw %}


def test_demo_assets_are_served_without_a_cdn(client: Client) -> None:
    html = client.get("/").content.decode()
    assert "https://" not in html and "http://" not in html
    for asset in ["socket.js", "demo.js", "demo.css"]:
        response = client.get(f"/static/{{ cookiecutter.app_slug }}/{asset}")
        assert response.status_code == 200


def test_notifications_panel_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    html = client.get("/").content.decode()
    assert 'href="/accounts/login/?next=/"' in html
    assert 'data-path="/ws/notifications/"' not in html
    login = client.get("/accounts/login/?next=/")
    assert login.status_code == 200 and b'name="password"' in login.content


def test_notifications_panel_for_a_logged_in_user_has_the_push_button(
    client: Client, django_user_model: Any
) -> None:
    client.force_login(django_user_model.objects.create_user("alice"))
    html = client.get("/").content.decode()
    assert 'data-path="/ws/notifications/"' in html
    assert 'action="/notifications/test/"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_where_chat_needs_a_login_anonymous_visitors_get_a_link_not_a_room(
    client: Client, django_user_model: Any, settings: Any
) -> None:
    settings.CHAT_LOGIN_REQUIRED = True
    html = client.get("/").content.decode()
    assert 'data-path="/ws/chat/lobby/"' not in html
    assert "Chat is for logged-in users here" in html
    client.force_login(django_user_model.objects.create_user("alice"))
    assert 'data-path="/ws/chat/lobby/"' in client.get("/").content.decode()
