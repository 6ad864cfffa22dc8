"""What a configuration must hold beyond its schema: the one check every command runs.

``parse_config`` refuses what is malformed; these rules refuse what parses but cannot
work (a dollar limit that an unpriced model would slip past, a quorum no module could
reach, a scripted backend without its answers). ``lint``, ``check``, ``doctor``,
``regen`` and ``regen --dry-run`` run them all, and the backend's factory runs the
pricing rule again before any call, so a configuration is refused with the same
message wherever it is found, never accepted by one command and refused by the next.
Pure: a ``Config`` (and its text, for line numbers) in, ``ConfigError``s out.
"""

from __future__ import annotations

from specmill.core.config import PYPROJECT_FILE, BudgetConfig, Config, ModelsConfig, find_toml_line
from specmill.core.prices import run_prices
from specmill.errors import ConfigError


def config_errors(config: Config, *, path: str, text: str) -> list[ConfigError]:
    """Every rule ``config`` (read from ``path``, whose content is ``text``) breaks."""
    prefix = ("tool", "specmill") if path.endswith(PYPROJECT_FILE) else ("specmill",)

    def line(*key: str) -> int:
        return find_toml_line(text, prefix, key)

    errors = []
    unpriced = unpriced_models(config.models, config.budget)
    if unpriced is not None:
        where = line("budget", dollar_limit(config.budget))
        errors.append(unpriced_error(config.budget, unpriced, path=path, line=where))
    quorum, verifiers = config.models.quorum, len(config.models.verifiers)
    if quorum is not None and quorum > verifiers:
        errors.append(
            ConfigError(
                f"models.quorum = {quorum}, but only {verifiers} verifier(s) are configured:"
                " no module could ever pass",
                path=path,
                line=line("models", "quorum"),
                hint="lower models.quorum, or add verifiers to models.verifiers",
            )
        )
    if config.models.backend == "scripted" and not config.models.script:
        errors.append(
            ConfigError(
                'models.backend = "scripted" needs models.script, the answers file',
                path=path,
                line=line("models", "backend"),
                hint="set models.script to a YAML or JSON file of answers (README: Scripted"
                " answers)",
            )
        )
    return errors


def unpriced_models(models: ModelsConfig, budget: BudgetConfig) -> list[str] | None:
    """The configured models a dollar limit cannot count (None when all can, or when no
    dollar limit is set): a model without a price would count as $0."""
    if not budget.counts_dollars or models.backend == "scripted":
        return None  # the scripted backend calls no model: its $0 is the truth
    prices = run_prices(models)
    missing = [model for model in models.model_names() if model not in prices]
    return missing or None


def dollar_limit(budget: BudgetConfig) -> str:
    return "max_usd" if budget.max_usd is not None else "max_usd_per_module"


def unpriced_error(
    budget: BudgetConfig,
    missing: list[str],
    *,
    path: str = "specmill.toml",
    line: int | None = None,
) -> ConfigError:
    limit = dollar_limit(budget)
    return ConfigError(
        f"budget.{limit} is set, but model {missing[0]!r} has no price, so its calls would"
        " count as $0" + (f" (nor {', '.join(map(repr, missing[1:]))})" if missing[1:] else ""),
        path=path,
        line=line,
        hint=f'add it to [specmill.models.prices], e.g. "{missing[0]}" ='
        " { input = 2.0, output = 8.0 } (US dollars per million tokens),"
        " or set budget.max_tokens instead",
    )
