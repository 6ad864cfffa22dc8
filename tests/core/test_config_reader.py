"""The configuration's light reader gives what pydantic gives, or leaves the table to it.

``parse_config`` reads a table through ``_checked`` (the dataclasses' fields, bounds and
validators, without pydantic) and falls back to pydantic, through the models
``_validation_model`` builds from the same fields, for anything it is not sure of. Here
both readers see many tables, valid and invalid: the light one must never accept a table
pydantic refuses, must build the same settings when it accepts one, and every error
``parse_config`` raises must be pydantic's (message, file, line).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from specmill.core import config as config_module
from specmill.core.config import Config, _checked, _Unsure, _validated, parse_config
from specmill.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs"
TEMPLATE = (
    Path(config_module.__file__).resolve().parents[1] / "templates" / "init" / "specmill.toml.j2"
)


def light(table: Any) -> Config | None:
    try:
        return _checked(Config, table)
    except _Unsure:
        return None


def full(table: Any) -> Config | None:
    try:
        return _validated(table)
    except ValidationError:
        return None


def snapshot(settings: Any) -> str:
    """Values with their types (3 and 3.0, 1 and True differ), and for a Config its file
    and the keys its table set."""
    extra = (settings._file, sorted(settings._keys)) if isinstance(settings, Config) else ()
    return repr((settings, *extra))


def agree(table: Any) -> Config | None:
    lightly, fully = light(table), full(table)
    if fully is None:
        assert lightly is None, f"the light reader accepted what pydantic refuses: {table!r}"
    elif lightly is not None:
        assert snapshot(lightly) == snapshot(fully)
        assert lightly.protected_patterns == fully.protected_patterns
        assert lightly.models_digest() == fully.models_digest()
    return lightly


def reference_parse(text: str, path: str) -> Config:
    """parse_config with pydantic alone (as before the light reader)."""
    original = config_module._checked

    def unsure(model: Any, data: Any) -> Any:
        raise _Unsure

    config_module._checked = unsure  # type: ignore[assignment]
    try:
        return parse_config(text, path)
    finally:
        config_module._checked = original


def outcome(parse: Any, text: str, path: str = "specmill.toml") -> tuple[str, Any]:
    try:
        config = parse(text, path)
    except ConfigError as error:
        return "error", (str(error), error.path, error.line, error.hint)
    return "ok", (snapshot(config), config.protected_patterns)


def documented_configs() -> list[str]:
    blocks = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        blocks += [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[specmill" in b]
    template = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", TEMPLATE.read_text(encoding="utf-8"))
    return [*blocks, template]


COMMON = [
    "[specmill]\n",
    '[specmill]\nspecs = "./requirements/"\nchecks = ["pytest -q"]\n',
    '[specmill]\ngovernance = ["docs/STYLE.md"]\nprotected = ["vendor/**"]\n',
    "[specmill]\ncheck_timeout = 30\nmax_attempts = 2\ncandidates = 3\n",
    "[specmill]\ncheck_timeout = inf\n",
    '[specmill]\ncheck_import_roots = ["src", "./", "."]\ncheck_ignored_paths = ["node_modules"]\n',
    '[specmill]\nsecret_env = ["TOKEN"]\ncheck_env = ["HOME_X"]\n',
    "[specmill]\ncomment_styles = { '.tpl' = 'hash', '.x' = 'slash' }\n",
    '[specmill.models]\nbackend = "scripted"\nscript = "answers.json"\ntimeout = 5\n',
    '[specmill.models]\nverifiers = [{ model = "a", base_url = "http://x", api_key_env = "K" }]\n',
    "[specmill.models]\nquorum = 1\ncandidate_temperatures = [0, 0.5, 2]\n",
    '[specmill.models]\ncandidate_models = ["m1", "m2"]\nstream = false\n',
    "[specmill.models.prices.gpt]\ninput = 2\noutput = 8.5\n",
    "[specmill.models.max_output_tokens]\nplanner = 16\nverifier = 100000\n",
    "[specmill.budget]\nmax_tokens = 10\nmax_usd = 0.5\nmax_usd_per_module = 1\n",
    '[specmill.bot]\ndelivery = "patch"\ndrafts = true\nallowed_associations = ["OWNER"]\n',
    "[specmill.bot]\nmax_jobs = 256\n",
    '[specmill.hooks]\nstale = "report"\n',
    "[specmill.calibration]\nmutants = 3\nseed = -4\nmin_recall = 1\nclean_runs = 0\n",
]
# refused by pydantic, or converted by it ("3" -> 3, 1 -> True): the light reader's
# part is to leave each of them to pydantic
UNSURE = [
    "[specmill]\nspecs = 3\n",
    '[specmill]\nspecs = "../out"\n',
    "[specmill]\nspecz = 'x'\n",
    "[specmill]\ncheck_timeout = 0\n",
    "[specmill]\ncheck_timeout = nan\n",
    "[specmill]\ncheck_timeout = '30'\n",
    "[specmill]\nmax_attempts = 2.0\n",
    "[specmill]\nmax_attempts = 2.5\n",
    "[specmill]\nmax_attempts = true\n",
    "[specmill]\nmax_attempts = '3'\n",
    "[specmill]\nmax_attempts = 21\n",
    "[specmill]\nearly_stop = 1\n",
    "[specmill]\nearly_stop = 'yes'\n",
    "[specmill]\nchecks = 'pytest'\n",
    "[specmill]\nchecks = [1]\n",
    '[specmill]\ncheck_ignored_paths = [".git/hooks"]\n',
    '[specmill]\ncheck_import_roots = ["/abs"]\n',
    '[specmill]\nsecret_env = ["A-B"]\n',
    '[specmill]\nsecret_env = ["OK\\nNO"]\n',
    "[specmill]\ncomment_styles = { '.json' = 'hash' }\n",
    "[specmill]\ncomment_styles = { '.x' = 1 }\n",
    '[specmill]\ninsensitive_checks = "maybe"\n',
    '[specmill.models]\nbackend = "other"\n',
    "[specmill.models]\nquorum = 0\n",
    '[specmill.models]\napi_key_env = "::error"\n',
    '[specmill.models]\nverifiers = [{ model = "a", extra = 1 }]\n',
    "[specmill.models]\nverifiers = [{ base_url = 'x' }]\n",
    '[specmill.models]\nverifiers = ["gpt"]\n',
    "[specmill.models]\ncandidate_temperatures = [3.0]\n",
    "[specmill.models]\ncandidate_temperatures = [-0.1, 1]\n",
    "[specmill.models]\nreask_limit = 11\n",
    "[specmill.models.prices.gpt]\ninput = -1\noutput = 1\n",
    "[specmill.models.prices.gpt]\ninput = 1\n",
    "[specmill.models.prices]\ngpt = 3\n",
    "[specmill.models.max_output_tokens]\nplanner = 15\n",
    "[specmill.models.max_output_tokens]\nauditor = 100\n",
    "[specmill.budget]\nmax_usd = 0\n",
    '[specmill.bot]\nallowed_associations = ["EVERYONE"]\n',
    "[specmill.bot]\nmax_jobs = 257\n",
    '[specmill.bot]\ndelivery = "push"\n',
    '[specmill.hooks]\nstale = "warn"\n',
    "[specmill.calibration]\nmin_recall = 1.5\n",
    "[specmill]\nmodels = 3\n",
    "[specmill]\n[other]\nx = 1\n",
    "[specmill\n",
    "[tool]\nx = 1\n",
    "specmill = 3\n",
    '[specmill]\nspecs = "spec\udc80s"\n',
]


@pytest.mark.parametrize("text", COMMON + UNSURE + documented_configs())
def test_parse_config_reads_every_config_as_pydantic_alone_does(text: str) -> None:
    assert outcome(parse_config, text) == outcome(reference_parse, text)
    pyproject = "[project]\nname = 'x'\n\n" + text.replace("[specmill", "[tool.specmill")
    assert outcome(parse_config, pyproject, "pyproject.toml") == outcome(
        reference_parse, pyproject, "pyproject.toml"
    )


@pytest.mark.parametrize("text", COMMON + documented_configs())
def test_the_configs_people_write_take_the_light_path(text: str) -> None:
    """If a new field's type is one the light reader does not know, this says so."""
    table = config_module.tomllib.loads(text)["specmill"]
    assert agree(table) is not None


@pytest.mark.parametrize("text", UNSURE[:-6])
def test_tables_pydantic_refuses_or_converts_are_left_to_it(text: str) -> None:
    table = config_module.tomllib.loads(text)["specmill"]
    assert light(table) is None


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=300),
    st.sampled_from([0.0, 0.5, 1.0, 2.5, -1.0, 1e9, math.inf, -math.inf, math.nan]),
    st.sampled_from(
        [
            "",
            "specs",
            "./specs/",
            "../x",
            "/abs",
            ".git/x",
            "src",
            "A_B",
            "a-b",
            "hash",
            "openai",
            "scripted",
            "commit",
            "patch",
            "OWNER",
            "EVERYONE",
            "block",
            "report",
            "fail",
            "warn",
            "auto",
            "json_object",
            "gpt-4.1",
            "3",
            "true",
            "x\udc80",
        ]
    ),
)


def settings_fields(cls: type) -> dict[str, Any]:
    """A settings class's fields (not its internal ones) and their types."""
    hints = get_type_hints(cls)
    return {
        f.name: hints[f.name] for f in dataclasses.fields(cls) if not f.metadata.get("internal")
    }


def is_settings(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def values_for(model: type, depth: int) -> st.SearchStrategy[Any]:
    keys = st.sampled_from([*settings_fields(model), "unknown"])
    value = SCALARS | st.lists(SCALARS, max_size=3)
    if depth > 0:
        value = value | st.deferred(lambda: nested_tables(depth - 1))
    return st.dictionaries(keys, value, max_size=5)


def nested_tables(depth: int) -> st.SearchStrategy[Any]:
    models = [m for m in vars(config_module).values() if isinstance(m, type)]
    models = [m for m in models if is_settings(m) and m.__module__ == config_module.__name__]
    strategies = [values_for(m, depth) for m in models]
    return st.one_of(*strategies) | st.lists(st.one_of(*strategies), max_size=2)


def shaped(model: type) -> st.SearchStrategy[Any]:
    """Tables shaped like the model: its keys, values of many types, its nested tables."""
    entries: dict[str, st.SearchStrategy[Any]] = {}
    for name, annotation in settings_fields(model).items():
        inner = get_args(annotation)
        if is_settings(annotation):
            entries[name] = shaped(annotation) | SCALARS
        elif inner and is_settings(inner[-1]):
            sub = shaped(inner[-1])
            entries[name] = st.lists(sub, max_size=2) | st.dictionaries(
                st.sampled_from(["gpt", "o3"]), sub, max_size=2
            )
        else:
            entries[name] = (
                SCALARS
                | st.lists(SCALARS, max_size=3)
                | st.dictionaries(st.sampled_from([".tpl", ".json", ".x"]), SCALARS, max_size=2)
            )
    return st.fixed_dictionaries({}, optional={**entries, "unknown": SCALARS})


@settings(max_examples=600, deadline=None)
@given(shaped(Config))
def test_the_light_reader_agrees_with_pydantic_on_any_table(table: dict[str, Any]) -> None:
    agree(table)


@settings(max_examples=200, deadline=None)
@given(nested_tables(2))
def test_the_light_reader_agrees_with_pydantic_on_stray_shapes(table: Any) -> None:
    agree(table)


def test_the_shipped_prices_are_what_validation_makes_of_them() -> None:
    from specmill.core.config import Price, _plain, _validation_model
    from specmill.core.prices import DEFAULT_PRICES

    for price in DEFAULT_PRICES.values():
        table = {"input": price.input, "output": price.output}
        assert snapshot(price) == snapshot(_checked(Price, table))
        assert snapshot(price) == snapshot(_plain(_validation_model(Price).model_validate(table)))
