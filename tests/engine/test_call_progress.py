"""Running calls on screen: a row each on a terminal, a line every few seconds in a log."""

from __future__ import annotations

import io

from rich.console import Console

from specmill.engine.call_lines import CallTicker, call_line
from specmill.engine.progress import PlainProgress, RichProgress
from specmill.llm.events import CallProgress


def event(state="streaming", tokens=0, elapsed=0.0, first=None, call=1, model="gemma"):
    return CallProgress(call, "planner", "billing.invoice", model, state, tokens, elapsed, first)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_call_waiting_for_its_first_token_still_gets_a_line_every_few_seconds():
    clock, lines = Clock(), []
    ticker = CallTicker(lines.append, every=5.0, clock=clock)
    ticker.report(event("waiting"))
    for _ in range(30):  # 15 s without a single report from the transport
        clock.now += 0.5
        lines += ticker.due()
    assert lines == [
        f"billing.invoice: planner call (gemma): waiting for the first token, {s} s"
        for s in (5, 10, 15)
    ]


def test_lines_come_at_most_every_few_seconds_whatever_the_token_rate():
    clock, lines = Clock(), []
    ticker = CallTicker(lines.append, every=5.0, clock=clock)
    for tenth in range(1, 121):  # 12 s of tokens, a report every 0.1 s
        clock.now += 0.1
        ticker.report(event(tokens=tenth * 20, elapsed=tenth / 10, first=0.0))
        lines += ticker.due()
    ticker.report(event("done", tokens=2400, elapsed=12.0, first=0.0))
    assert len(lines) == 3  # at 5 s, at 10 s, and the end
    assert lines[0].startswith("billing.invoice: planner call (gemma): streaming, 1,000 tokens")
    assert lines[-1] == (
        "billing.invoice: planner call (gemma): ended, 2,400 tokens, 200.0 tokens/s, 12 s"
    )


def test_a_quick_call_prints_nothing_and_quiet_prints_nothing_at_all():
    out = io.StringIO()
    plain = PlainProgress(out)
    plain.call_progress(event("waiting"))
    plain.call_progress(event("done", tokens=10, elapsed=0.4, first=0.1))
    quiet = PlainProgress(out, quiet=True, every=0.0)
    quiet.stage("billing.invoice", "planning")
    quiet.call_progress(event("waiting", call=2))
    quiet.prompt("billing.invoice", "planner", 9000, ["context: db.py"])  # never silently
    assert out.getvalue() == (
        "billing.invoice: planner prompt cut to 9,000 tokens to fit its limit:"
        " left out context: db.py\n"
    )


def test_hostile_model_and_module_names_are_printed_not_obeyed():
    line = call_line(event(model="\x1b[2J[red]m\nx", first=0.0, tokens=3, elapsed=1.0))
    assert "\x1b" not in line and "\n" not in line and "?[2J[red]m x" in line
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    rich = RichProgress(["billing.invoice"], console=console)
    with rich:
        rich.call_progress(event(model="[bold]evil[/bold]", first=0.0, tokens=3, elapsed=1.0))
    assert "[bold]evil[/bold]" in out.getvalue()  # shown as text, not as markup


def test_a_terminal_shows_a_row_per_running_call_and_drops_it_when_done():
    out = io.StringIO()
    rich = RichProgress(["billing.invoice"], console=Console(file=out, force_terminal=True))
    with rich:
        rich.call_progress(event("waiting", call=1))
        rich.call_progress(event(tokens=40, elapsed=1.0, first=0.5, call=2))
        assert len(rich._progress.tasks) == 3  # the module and two calls
        rich._progress.refresh()
        rich.call_progress(event("done", tokens=40, elapsed=1.2, first=0.5, call=2))
        assert len(rich._progress.tasks) == 2
    assert "planner call (gemma): streaming, 40 tokens, 80.0 tokens/s" in out.getvalue()
