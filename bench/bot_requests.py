"""Count the GitHub API requests of one publish: a PR touching 1 spec vs 50 specs.

    python bench/bot_requests.py

GitHub is mocked with ``responses`` (nothing leaves the machine). Each spec brings its
two generated outputs and one inline finding, so the 50-spec pull request has 150
changed files and 50 inline comments, all in the one review.
Target: the same number of requests apart from pagination (100 items per page).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import responses

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from specmill.core.records import Finding, ModuleResult, RunRecord  # noqa: E402
from specmill.github.client import make_client  # noqa: E402
from specmill.github.events import PullTarget  # noqa: E402
from specmill.github.publish import publish_pull_request  # noqa: E402
from specmill.github.report import Report  # noqa: E402

API = "https://api.github.com:443/repos/acme/billing"
HEAD = "c0ffee1234567890abcdef1234567890abcdef12"
TARGET = PullTarget(
    repository="acme/billing",
    html_url="https://github.com/acme/billing",
    number=7,
    draft=False,
    base_ref="main",
    base_sha="3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
    head_ref="many-specs",
    head_sha=HEAD,
    head_repository="acme/billing",
)
PATCH = "@@ -1,3 +1,4 @@\n context\n-old\n+new\n+more\n context"


def pull_request(specs: int) -> tuple[list[dict[str, Any]], RunRecord]:
    files, modules = [], []
    for i in range(specs):
        spec, code, test = f"specs/m{i}.md", f"src/m{i}.py", f"tests/test_m{i}.py"
        files += [{"filename": p, "status": "modified", "patch": PATCH} for p in (spec, code, test)]
        finding = Finding(kind="code-defect", severity="major", message=f"m{i}", file=code, line=2)
        module = ModuleResult(
            module=f"m{i}", spec=spec, inputs_hash="h", status="failed", files=[code, test]
        )
        modules.append(module.model_copy(update={"findings": [finding]}))
    return files, RunRecord(run_id="bench", started_at="2025-01-01T00:00:00Z", modules=modules)


def paginate(items: list[dict[str, Any]]) -> Any:
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        match = re.search(r"[?&]page=(\d+)", request.url)
        page = int(match.group(1)) if match else 1
        chunk = items[(page - 1) * 100 : page * 100]
        headers = {}
        if page * 100 < len(items):
            url = request.url.split("?")[0].replace(":443", "")
            headers["Link"] = f'<{url}?per_page=100&page={page + 1}>; rel="next"'
        return 200, headers, json.dumps(chunk)

    return callback


def count(specs: int) -> Counter[str]:
    files, record = pull_request(specs)
    api = API.replace(":443", "")
    pr = {
        "number": 7,
        "url": f"{api}/pulls/7",
        "issue_url": f"{api}/issues/7",
        "comments_url": f"{api}/issues/7/comments",
        "review_comments_url": f"{api}/pulls/7/comments",
        "head": {"sha": HEAD, "ref": "many-specs"},
        "base": {"sha": TARGET.base_sha, "ref": "main"},
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add("GET", f"{API}/pulls/7", json=pr)
        mock.add_callback("GET", f"{API}/pulls/7/files", callback=paginate(files))
        mock.add_callback("GET", f"{API}/pulls/7/comments", callback=paginate([]))
        mock.add_callback("GET", f"{API}/issues/7/comments", callback=paginate([]))
        mock.add("POST", f"{API}/pulls/7/reviews", json={"id": 1})
        mock.add("POST", f"{API}/issues/7/comments", json={"id": 2})
        mock.add("POST", f"{API}/statuses/{HEAD}", json={"id": 3})
        pauses = {"seconds_between_requests": 0, "seconds_between_writes": 0}
        gh = make_client("bench", None, retry=None, **pauses)
        publish_pull_request(gh, Report.for_pull(TARGET, "bench", record=record))
        return Counter(
            f"{c.request.method} {c.request.url.split('?')[0].replace(API, '')}" for c in mock.calls
        )


def main() -> int:
    one, fifty = count(1), count(50)
    for label, counts in (("1 spec", one), ("50 specs", fifty)):
        detail = ", ".join(f"{call} x{n}" for call, n in sorted(counts.items()))
        print(f"{label}: {sum(counts.values())} requests ({detail})")
    extra_pages = sum(fifty.values()) - sum(one.values())
    print(f"difference: {extra_pages} request(s), all pagination of GET /pulls/7/files")
    same_apart_from_pages = {k: v for k, v in one.items() if "files" not in k} == {
        k: v for k, v in fifty.items() if "files" not in k
    }
    return 0 if same_apart_from_pages else 1


if __name__ == "__main__":
    raise SystemExit(main())
