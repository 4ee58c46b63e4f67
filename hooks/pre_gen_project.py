"""Refuse answers that would give a broken project, before anything is written."""

import keyword
import re
import sys

# Packages the generated project imports; a package of the same name would shadow them.
SHADOWED = {
    "django",
    "channels",
    "daphne",
    "asgiref",
    "test",
    "tests",
    "redis",
    "channels_devtools",  # the generated project's tooling app
}
# Longer names would push generated lines past ruff's 88 columns.
MAX_SLUG_LENGTH = 30
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slug_problem(option: str, value: str) -> str | None:
    fix = f"answer the {option} prompt with a lowercase name such as my_project"
    if not value.isidentifier() or not value.isascii():
        return f"{option} {value!r} is not a valid Python identifier: {fix}."
    if len(value) > MAX_SLUG_LENGTH:
        return (
            f"{option} {value!r} is longer than {MAX_SLUG_LENGTH} characters: "
            f"{fix}."
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{option} {value!r} is a Python keyword: {fix}."
    if value in SHADOWED or value in sys.stdlib_module_names:
        return (
            f"{option} {value!r} would shadow the {value!r} module the project "
            f"imports: {fix}."
        )
    return None


def problems(answers: dict[str, str]) -> list[str]:
    found = [
        problem
        for option in ("project_slug", "app_slug")
        if (problem := slug_problem(option, answers[option]))
    ]
    if answers["project_slug"] == answers["app_slug"]:
        found.append(
            f"project_slug and app_slug are both {answers['app_slug']!r}: "
            "give the Channels app a name of its own, such as realtime."
        )
    if answers["author_email"] and not EMAIL.match(answers["author_email"]):
        found.append(
            f"author_email {answers['author_email']!r} is not an email address: "
            "answer with name@example.com, or leave it empty."
        )
    return found


if __name__ == "__main__":
    found = problems(
        {
            "project_slug": {{ cookiecutter.project_slug|tojson }},
            "app_slug": {{ cookiecutter.app_slug|tojson }},
            "author_email": {{ cookiecutter.author_email|tojson }},
        }
    )
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
