"""Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) through Selenium.

Nothing is downloaded: the browser and its driver are the system's, Selenium Manager
is never asked for one. ``open_page`` loads a file and returns what a person's browser
would have shown and done: the console's errors, every request the page made, and a
handle on the page to read it and screenshot it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI: chromium refuses its sandbox as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path in (CHROMIUM, DRIVER):
        if not os.access(path, os.X_OK):
            return (
                f"{path} is not installed (apt-get install chromium chromium-driver; .ci/run does)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@dataclass
class Visit:
    driver: Any
    console: list[dict[str, Any]] = field(default_factory=list)  # SEVERE entries
    requests: list[str] = field(default_factory=list)  # URLs the page asked for

    def collect(self) -> None:
        """Read the logs gathered since the last call (the driver hands each entry once)."""
        self.console += [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                params = message["params"]
                if not params.get("documentURL", "").startswith("chrome://"):
                    self.requests.append(params["request"]["url"])

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)


@contextmanager
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="specmill-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, page: Path) -> Visit:
    visit = Visit(driver)
    driver.get("about:blank")
    visit.collect()  # what the browser did before our page is not the page's
    visit.console.clear()
    visit.requests.clear()
    driver.get(page.resolve().as_uri())
    visit.collect()
    return visit
