"""Jinja filters for this template, loaded by cookiecutter through ``_extensions``."""

from pathlib import Path

from cookiecutter.utils import simple_filter


@simple_filter
def in_template(relative: str) -> str:
    """The absolute path of a file of this template, for the hooks to read.

    cookiecutter renders the hooks from inside the template folder (and runs them
    from inside the new project), while its ``_repo_dir`` may be relative to
    wherever it was started: only the working directory at render time is sure.
    """
    return str(Path.cwd() / relative)
