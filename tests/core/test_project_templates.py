"""The shipped prompt templates, read from the package's folder, are the ones
``importlib.resources`` gives: their texts enter every module's inputs hash."""

import importlib.resources

from specmill.core.repo_files import _shipped_prompts


def test_shipped_prompts_are_what_importlib_resources_reads() -> None:
    shipped = importlib.resources.files("specmill.templates") / "prompts"
    want = [(i.name, i.read_text("utf-8")) for i in shipped.iterdir() if i.name.endswith(".j2")]
    assert want  # the templates are there
    assert _shipped_prompts() == want
