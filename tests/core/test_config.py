import dataclasses

import pytest

from specmill.core.config import BudgetConfig, Config, parse_config
from specmill.errors import ConfigError


def test_empty_table_gives_working_defaults() -> None:
    config = parse_config("[specmill]\n", "specmill.toml")
    assert config.specs == "specs"
    assert config.max_attempts == 3
    assert ".github/**" in config.protected_patterns
    assert "specs/**" in config.protected_patterns


def test_pyproject_table() -> None:
    text = '[project]\nname = "x"\n\n[tool.specmill]\nspecs = "requirements"\n'
    assert parse_config(text, "pyproject.toml").specs == "requirements"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[specmill]\nspecs = 'specs'\nmax_atempts = 2\n", 3, "unknown key 'max_atempts'"),
        ("[specmill]\n\n[specmill.models]\nplaner = 'x'\n", 4, "unknown key 'models.planer'"),
        ("[specmill]\nmax_attempts = 'many'\n", 2, "max_attempts: Input should be a valid integer"),
        ("[specmill]\nspecs = '../elsewhere'\n", 2, "specs: must be a folder"),
        ("[specmill]\nspecs = \n", 2, "invalid TOML"),
        ("specs = 'x'\n[specmill]\n", 1, "unknown top-level key 'specs'"),
        ("[other]\n", 1, "no [specmill] table"),
    ],
)
def test_errors_name_file_key_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "specmill.toml")
    error = caught.value
    assert error.path == "specmill.toml"
    assert error.line == line
    assert message in error.message


def test_pyproject_error_line_counts_whole_file() -> None:
    text = "[project]\nname = 'x'\n\n[tool.specmill]\nchecks = 'pytest'\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "pyproject.toml")
    assert (caught.value.line, caught.value.path) == (5, "pyproject.toml")
    assert "checks" in caught.value.message


def test_models_digest_ignores_operational_settings() -> None:
    base = Config()
    tuned = parse_config("[specmill.models]\ntimeout = 5\nconcurrency = 9\n", "specmill.toml")
    other = parse_config("[specmill.models]\nplanner = 'another'\n", "specmill.toml")
    assert base.models_digest() == tuned.models_digest()
    assert base.models_digest() != other.models_digest()


def test_comment_styles_are_checked() -> None:
    config = parse_config("[specmill]\ncomment_styles = { '.tpl' = 'hash' }\n", "specmill.toml")
    assert config.comment_styles == {".tpl": "hash"}
    with pytest.raises(ConfigError, match="unknown comment style 'hashes'") as caught:
        parse_config("[specmill]\ncomment_styles = { '.tpl' = 'hashes' }\n", "specmill.toml")
    assert caught.value.line == 2


def test_the_configuration_reference_is_valid() -> None:
    """The configuration page's full example (docs/configuration.md) must stay a
    configuration specmill accepts."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    text = page.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[specmill]" in b]
    assert blocks, "docs/configuration.md lost its configuration reference"
    for block in blocks:
        config = parse_config(block, "specmill.toml")
        assert config.models.verifiers and config.bot.delivery == "commit"


def test_candidate_keys_and_their_place_in_the_inputs_hash() -> None:
    plain = parse_config("[specmill]\n", "specmill.toml")
    assert plain.early_stop is True and plain.models.candidate_models == []
    varied = parse_config(
        '[specmill]\nearly_stop = false\n[specmill.models]\ncandidate_models = ["a", "b"]\n',
        "specmill.toml",
    )
    assert not varied.early_stop and varied.models.candidate_models == ["a", "b"]
    assert varied.models_digest() != plain.models_digest()  # they decide the code
    assert "candidate_models" not in plain.models.identity()  # unset: old hashes hold
    with pytest.raises(ConfigError, match=r"candidate_temperatures: 3.0: a temperature is"):
        parse_config("[specmill]\n[specmill.models]\ncandidate_temperatures = [3.0]\n", "s.toml")


def test_settings_are_frozen_values_built_with_keywords() -> None:
    """Code builds and copies settings like any dataclass; a copy keeps where they came
    from (pyproject.toml stays protected) and which keys the file set."""
    budget = BudgetConfig(max_tokens=10)
    assert budget == BudgetConfig(max_tokens=10) and budget.max_usd is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        budget.max_tokens = 11  # type: ignore[misc]
    config = parse_config("[tool.specmill]\nspecs = 'reqs'\n", "pyproject.toml")
    copied = dataclasses.replace(config, bot=dataclasses.replace(config.bot, delivery="patch"))
    assert copied.bot.delivery == "patch" and config.bot.delivery == "commit"
    assert "pyproject.toml" in copied.protected_patterns
    assert copied.sets("specs") and not copied.sets("checks")
    assert not Config(specs="reqs").sets("specs")  # built in code: no file set it


def test_a_table_is_validated_as_the_file_is() -> None:
    table = {"specs": "./reqs/", "models": {"timeout": 5, "max_retries": "3"}}
    config = Config.from_table(table)
    assert (config.specs, config.models.timeout, config.models.max_retries) == ("reqs", 5.0, 3)
    assert config.sets("models") and not config.sets("budget")
    with pytest.raises(ConfigError) as caught:
        Config.from_table({"models": {"timeout": 0}})
    assert caught.value.message == "models.timeout: Input should be greater than 0"
    with pytest.raises(ConfigError, match=r"unknown key 'bot\.max_job'"):
        Config.from_table({"bot": {"max_job": 3}})
