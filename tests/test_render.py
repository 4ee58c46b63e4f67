"""What the template renders: the seed's steps, valid Python, clean lint."""

import ast
import re
import tomllib
from pathlib import Path

import pytest

from .conftest import Render, ruff

# Cookiecutter's Jinja that should have been rendered; Django's {% load %} is fine.
JINJA_LEFTOVER = re.compile(
    r"\{\{-?\s*cookiecutter|cookiecutter\.|\{%-?\s*(if|elif|else|endif|raw|endraw|for)\b"
)
# Django templates have {% if %} of their own; there only Jinja's own marks count.
JINJA_LEFTOVER_IN_DJANGO_TEMPLATES = re.compile(
    r"\{\{-?\s*cookiecutter|cookiecutter\.|\{%-?\s*(raw|endraw)\b"
)
AWKWARD_NAMES = [
    'Café "Live" d\'Été',
    'It\'s a "quoted" name \\ with a backslash',
]


def python_files(project: Path) -> list[Path]:
    return sorted(project.rglob("*.py"))


def test_default_project_has_the_seed_layout(default_project: Path) -> None:
    package = default_project / "my_channels_project"
    app = default_project / "realtime"
    for path in [
        default_project / "manage.py",
        default_project / "pyproject.toml",
        default_project / "README.md",
        package / "settings.py",
        package / "asgi.py",
        package / "urls.py",
        app / "consumers.py",
        app / "routing.py",
        default_project / "tests" / "test_consumers.py",
    ]:
        assert path.is_file(), path


def test_daphne_is_first_in_installed_apps(default_project: Path) -> None:
    settings = default_project / "my_channels_project" / "settings.py"
    tree = ast.parse(settings.read_text())
    apps = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "INSTALLED_APPS"
    )
    assert apps[0] == "daphne"
    assert "channels" in apps and "realtime" in apps


def test_settings_swap_wsgi_for_asgi(default_project: Path) -> None:
    text = (default_project / "my_channels_project" / "settings.py").read_text()
    assert re.search(r"^# WSGI_APPLICATION = ", text, re.M)
    assert not re.search(r"^WSGI_APPLICATION", text, re.M)
    assert 'ASGI_APPLICATION = "my_channels_project.asgi.application"' in text


def test_asgi_sets_django_up_before_routing(default_project: Path) -> None:
    text = (default_project / "my_channels_project" / "asgi.py").read_text()
    setup = text.index("django_asgi_app = get_asgi_application()")
    assert text.index("DJANGO_SETTINGS_MODULE") < setup
    assert setup < text.index("import realtime.routing")
    assert '"http": django_asgi_app' in text
    assert "URLRouter(" in text and "realtime.routing.websocket_urlpatterns" in text


def test_routing_and_consumers_keep_the_seed_names(default_project: Path) -> None:
    routing = (default_project / "realtime" / "routing.py").read_text()
    assert 'path("ws/sc/", consumers.MySyncConsumer.as_asgi())' in routing
    assert 'path("ws/ac/", consumers.MyAsyncConsumer.as_asgi())' in routing
    consumers = (default_project / "realtime" / "consumers.py").read_text()
    assert "class MySyncConsumer(QueuedSendDispatch, SyncConsumer)" in consumers
    assert "class MyAsyncConsumer(NoDatabaseDispatch, AsyncConsumer)" in consumers
    for handler in ["websocket_connect", "websocket_receive", "websocket_disconnect"]:
        assert consumers.count(f"def {handler}(") == 2
    assert consumers.count("raise StopConsumer()") == 2


def test_dependencies_declare_ranges(default_project: Path) -> None:
    project = tomllib.loads((default_project / "pyproject.toml").read_text())
    dependencies = project["project"]["dependencies"]
    assert "django>=5.2,<7" in dependencies
    assert any(dep.startswith("channels>=") for dep in dependencies)
    assert "daphne>=4.2.3,<5" in dependencies


LONGEST_SLUG = "a_thirty_character_identifier_"
ANSWERS = [
    *({"project_name": name} for name in ["My Channels Project", *AWKWARD_NAMES]),
    {"project_slug": LONGEST_SLUG, "app_slug": LONGEST_SLUG[::-1].strip("_") + "x"},
    {"project_name": "A very long project name that goes well past thirty letters"},
]


OPTION_COMBINATIONS = [
    {"channel_layer": layer, "asgi_server": server, "demo_page": demo, "database": db}
    for layer in ("in_memory", "redis")
    for server in ("daphne", "uvicorn")
    for demo in ("yes", "no")
    for db in ("sqlite", "postgres")
]


@pytest.mark.parametrize(
    "answers",
    OPTION_COMBINATIONS + ANSWERS,
    ids=lambda a: "-".join(a.values()),
)
def test_every_answer_renders_valid_lint_clean_python(
    render: Render, answers: dict[str, str]
) -> None:
    project = render(**answers)
    project_name = answers.get("project_name", "My Channels Project")
    for path in python_files(project):
        ast.parse(path.read_text(), filename=str(path))
    for path in project.rglob("*"):
        if path.is_file():
            django_template = "templates" in path.relative_to(project).parts
            leftover = (
                JINJA_LEFTOVER_IN_DJANGO_TEMPLATES
                if django_template
                else JINJA_LEFTOVER
            )
            assert not leftover.search(path.read_text()), path
    tomllib.loads((project / "pyproject.toml").read_text())
    assert project_name in (project / "README.md").read_text()
    check = ruff("check", ".", cwd=project)
    assert check.returncode == 0, check.stdout
    fmt = ruff("format", "--check", ".", cwd=project)
    assert fmt.returncode == 0, fmt.stdout


def test_awkward_name_gives_a_clean_slug(render: Render) -> None:
    project = render(project_name=AWKWARD_NAMES[0])
    assert project.name == "cafe_live_d_ete"
    assert (project / "cafe_live_d_ete" / "settings.py").is_file()


def test_description_and_author_with_quotes_stay_valid_toml(render: Render) -> None:
    project = render(
        description='Says "hi" and \\o/',
        author_name='O\'Brien "Bob"',
        author_email="",
    )
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert meta["description"] == 'Says "hi" and \\o/'
    assert meta["authors"] == [{"name": 'O\'Brien "Bob"'}]


def test_two_renders_never_share_a_secret_key(render: Render, tmp_path: Path) -> None:
    keys = []
    for name in ["First Project", "Second Project"]:
        project = render(project_name=name)
        settings = (project / project.name / "settings.py").read_text()
        keys.append(re.search(r'"(django-insecure-[^"]+)"', settings).group(1))
    assert keys[0] != keys[1]
    assert all(len(key) >= 50 + len("django-insecure-") for key in keys)


def test_demo_page_no_leaves_out_the_page_cleanly(render: Render) -> None:
    project = render(demo_page="no")
    for gone in [
        "realtime/templates",
        "tests/test_demo_page.py",
        "tests/test_browser.py",
    ]:
        assert not (project / gone).exists(), gone
    # The reconnecting client stays, for the user's own pages; the demo's files go.
    static = project / "realtime" / "static" / "realtime"
    assert sorted(path.name for path in static.iterdir()) == ["socket.js"]
    # The push view stays: it is the push API's, not the demo page's.
    urls = (project / "my_channels_project" / "urls.py").read_text()
    assert "views.index" not in urls and "LoginView" not in urls
    assert "views.push_test_notification" in urls
    views = (project / "realtime" / "views.py").read_text()
    assert "def index" not in views and "render" not in views
    assert (
        "LOGIN_REDIRECT_URL"
        not in (project / "my_channels_project" / "settings.py").read_text()
    )
    assert "playwright" not in (project / "pyproject.toml").read_text()


def test_sqlite_leaves_out_postgres_and_postgres_leaves_out_sqlite(
    default_project: Path, render: Render
) -> None:
    assert not (default_project / "tests" / "test_postgres.py").exists()
    assert not (default_project / "my_channels_project" / "postgresql").exists()
    assert "psycopg" not in (default_project / "pyproject.toml").read_text()
    assert "DATABASE_URL" not in (default_project / "compose.yaml").read_text()
    postgres = render(database="postgres")
    assert not (postgres / "tests" / "test_sqlite.py").exists()
    assert "DJANGO_SQLITE_PATH" not in (postgres / "compose.yaml").read_text()
    assert "sqlite3" not in (postgres / postgres.name / "settings.py").read_text()


def test_in_memory_layer_leaves_out_the_redis_tests(default_project: Path) -> None:
    assert not (default_project / "tests" / "test_redis_layer.py").exists()
    assert not (default_project / "tests" / "redis_server.py").exists()
    assert "channels-redis" not in (default_project / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("layer", "database"), [("in_memory", "sqlite"), ("redis", "postgres")]
)
def test_env_example_holds_every_variable_of_the_settings_table(
    render: Render, layer: str, database: str
) -> None:
    project = render(channel_layer=layer, database=database)
    readme = (project / "README.md").read_text()
    table = readme.split("## Settings from the environment", 1)[1].split("\n\n## ")[0]
    variables = re.findall(r"^\| `([A-Z_]+)` \|", table, re.M)
    assert "DJANGO_SECRET_KEY" in variables
    example = (project / ".env.example").read_text()
    for variable in variables:
        assert f"{variable}=" in example, variable
