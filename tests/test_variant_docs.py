"""Each variant's README and nginx.conf describe that variant, not another one."""

import re
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, Render, render_template


def docs(project: Path) -> str:
    readme = (project / "README.md").read_text()
    nginx = (project / "deploy" / "nginx.conf").read_text()
    return " ".join((readme + "\n" + nginx).split())


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_in_memory_layer_never_suggests_several_processes(
    render: Render, server: str
) -> None:
    text = docs(render(asgi_server=server))
    assert "one per core" not in text
    assert "keep it to one" in text
    assert len(re.findall(r"server 127\.0\.0\.1:\d+;", text)) == 1


def test_redis_layer_documents_one_process_per_core(render: Render) -> None:
    text = docs(render(channel_layer="redis"))
    assert "start one per core on its own port" in text
    assert len(re.findall(r"server 127\.0\.0\.1:\d+;", text)) == 2


@pytest.mark.parametrize("layer", ["in_memory", "redis"])
def test_uvicorn_docs_name_uvicorn_processes(render: Render, layer: str) -> None:
    text = docs(render(asgi_server="uvicorn", channel_layer=layer))
    assert "Daphne process" not in text
    assert "Uvicorn process" in text
    assert "--ws websockets-sansio" in text


@pytest.mark.parametrize("layer", ["in_memory", "redis"])
def test_uvicorn_settings_and_description_do_not_say_daphne_serves(
    render: Render, layer: str
) -> None:
    project = render(asgi_server="uvicorn", channel_layer=layer)
    settings = (project / project.name / "settings.py").read_text()
    comments = [line for line in settings.splitlines() if "#" in line]
    # Daphne stays for runserver: only those lines may name it.
    serving = [c for c in comments if "daphne" in c.lower() and "runserver" not in c]
    assert serving == []
    assert "(uvicorn)" in settings and '"uvicorn.error": {"handlers"' in settings
    pyproject = (project / "pyproject.toml").read_text()
    description = re.search(r'^description = "(.*)"$', pyproject, re.MULTILINE)
    assert description is not None and "Daphne" not in description[1]


def test_in_memory_readme_shows_the_redis_variants_own_layer_settings(
    tmp_path: Path,
) -> None:
    # Rendered from the same files (templates/), so the two cannot drift apart.
    in_memory = render_template(TEMPLATE, tmp_path / "in_memory")
    redis = render_template(TEMPLATE, tmp_path / "redis", channel_layer="redis")
    readme = (in_memory / "README.md").read_text()
    settings = (redis / redis.name / "settings.py").read_text()
    block = settings[settings.index("REDIS_URL = ") : settings.index("\nDATABASES")]
    assert block.strip() in readme
    assert "REDIS_URL" in block and "retry_on_error" in block
    imports = re.findall(r"(?m)^from redis\S* import .*$", settings)
    assert len(imports) == 3 and all(line in readme for line in imports)
    assert (redis / redis.name / "layers.py").read_text() in readme
    assert not (in_memory / in_memory.name / "layers.py").exists()


def test_readme_opening_says_each_thing_once(render: Render) -> None:
    readme = (render() / "README.md").read_text()
    first, second = readme.split("\n\n")[1:3]
    assert first == "Real-time features for a Django site, over WebSockets."
    assert "WebSockets" not in second and "project template" in second


@pytest.mark.parametrize("layer", ["in_memory", "redis"])
def test_separate_frontend_docs_name_the_cookie_host_and_the_limits(
    render: Render, layer: str
) -> None:
    project = render(channel_layer=layer)
    text = " ".join((project / "README.md").read_text().split())
    assert "log in at http://localhost:8000/ for a frontend on `localhost:5173`" in text
    assert "Safari and Firefox block third-party cookies" in text
    assert '`SESSION_COOKIE_SAMESITE = "None"` over HTTPS' not in text
    assert "**Hybrid apps.** A limit" in text and "capacitor://localhost" in text
    assert "(Who is connected, above;" in text
    # Production examples name https:// origins only; http:// ones say development.
    readme = (project / "README.md").read_text()
    row = re.search(r"\| `DJANGO_WEBSOCKET_ALLOWED_ORIGINS` \|[^\n]*", readme)
    assert row is not None
    assert "in development also `http://localhost:5173`" in row[0]
    example = (project / ".env.example").read_text()
    origins = re.search(r"DJANGO_WEBSOCKET_ALLOWED_ORIGINS=(\S+)", example)
    assert origins is not None and origins[1] == "https://app.example.com"


@pytest.mark.parametrize(
    ("layer", "database", "replicas"),
    [
        ("in_memory", "sqlite", 1),
        ("redis", "sqlite", 1),
        ("in_memory", "postgres", 1),
        ("redis", "postgres", 2),
    ],
)
def test_compose_runs_two_replicas_only_where_rooms_and_data_span_them(
    render: Render, layer: str, database: str, replicas: int
) -> None:
    project = render(channel_layer=layer, database=database)
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    web = compose["services"]["web"]
    assert web.get("deploy", {}).get("replicas", 1) == replicas
    assert ("postgres" in compose["services"]) == (database == "postgres")
    assert ("redis" in compose["services"]) == (layer == "redis")
    text = docs(project)
    if replicas == 1:
        assert "--scale web" not in text
    else:
        assert "docker compose up --scale web=4" in text
        assert web["environment"]["DATABASE_URL"].startswith("postgres://postgres:")


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_each_server_stops_with_the_hand_over_its_readme_describes(
    render: Render, server: str
) -> None:
    project = render(asgi_server=server)
    text = docs(project)
    dockerfile = (project / "Dockerfile").read_text()
    serve = project / project.name / "serve.py"
    if server == "daphne":
        assert serve.exists() and "closes every WebSocket with 1001" in text
        assert f'"python", "-m", "{project.name}.serve"' in dockerfile
    else:
        assert not serve.exists() and "1012 (service restart)" in text
        assert '"--timeout-graceful-shutdown", "5"' in dockerfile
