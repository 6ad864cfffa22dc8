"""Helpers for the bot's tests: payloads, a scenario, and GitHub mocked with ``responses``.

``GitHubMock`` registers the endpoints a test expects (``assert_all_requests_are_fired``
makes a test fail when one is not called) and lists the requests actually made, so that
tests assert exactly which calls a run makes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import responses
from responses import matchers

from specmill.core.records import CallRecord, Finding, ModuleResult, RunRecord, Verdict
from specmill.core.status import Problem

DATA = Path(__file__).parent.parent / "data" / "github"
TOKEN = "ghs_" + "S3cr3tT0kenValue" * 2 + "abcd"  # shaped like an installation token
API = "https://api.github.com:443"
REPO = "acme/billing"
HEAD1 = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
HEAD2 = "c0ffee1234567890abcdef1234567890abcdef12"
BASE = "3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"
FORK_HEAD = "f0f0f0f0e1e1e1e1d2d2d2d2c3c3c3c3b4b4b4b4"

SPEC_PATCH = """\
@@ -10,6 +10,8 @@ checks:
 # Invoice

 - **R1** `Invoice.total()` returns the sum of line totals, rounded half-even to cents.
 - **R2** Adding a line item with a negative quantity raises `ValueError`.
+- **R3** Discounts apply before tax.
+- **R4** An empty invoice totals zero.

 ## Notes"""
CODE_PATCH = """\
@@ -18,4 +18,6 @@ class Invoice:
     def total(self) -> Decimal:
-        total = sum(line.amount for line in self.lines)
-        return total.quantize(CENTS)
+        total = sum((line.amount for line in self.lines), Decimal(0))
+        total = total - self.discount
+        return total.quantize(CENTS, rounding=ROUND_HALF_EVEN)
+
     def add(self, line: Line) -> None:"""
TAX_PATCH = """\
@@ -10,3 +10,3 @@ def tax(amount: Decimal, region: str) -> Decimal:
     rate = RATES[region]
-    return amount * rate
+    return (amount * rate).quantize(CENTS)  # hand fix
 """


def payload(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def file_entry(path: str, patch: str | None, status: str = "modified") -> dict[str, Any]:
    """One element of GET /pulls/{n}/files, in GitHub's shape."""
    blob = f"https://github.com/{REPO}/blob/{HEAD1}/{path}"
    entry = {
        "sha": "b" * 40,
        "filename": path,
        "status": status,
        "additions": 2,
        "deletions": 1,
        "changes": 3,
        "blob_url": blob,
        "raw_url": blob.replace("/blob/", "/raw/"),
        "contents_url": f"https://api.github.com/repos/{REPO}/contents/{path}?ref={HEAD1}",
    }
    if patch is not None:
        entry["patch"] = patch
    return entry


PR_FILES = [
    file_entry("specs/billing/invoice.md", SPEC_PATCH),
    file_entry("src/billing/invoice.py", CODE_PATCH),
    file_entry("src/billing/tax.py", TAX_PATCH),
    file_entry("docs/logo.png", None, "added"),
]


NO_PAUSES = {"seconds_between_requests": 0, "seconds_between_writes": 0}


def user(login: str, kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": 41898282 if kind == "Bot" else 1300002, "type": kind}


def scenario_record(head: str = HEAD1) -> RunRecord:
    """billing.invoice regenerated; verifiers disagree; findings in and outside the diff."""
    gap = Finding(
        kind="spec-gap",
        severity="minor",
        message="R3 does not say whether the discount is a rate or an amount.",
        requirement="R3",
    )
    defect = Finding(
        kind="code-defect",
        severity="major",
        message="Discount is subtracted after rounding; R1 requires rounding last.",
        requirement="R1",
        file="src/billing/invoice.py",
        line=20,
    )
    far = Finding(
        kind="code-defect",
        severity="minor",
        message="`Invoice.add` does not reject a negative quantity (R2).",
        requirement="R2",
        file="src/billing/invoice.py",
        line=200,
    )
    verdicts = [
        Verdict(verifier="gpt-4.1", verdict="fail", summary="R1 violated", findings=[defect]),
        Verdict(verifier="o4-mini", verdict="pass", summary="looks right"),
        Verdict(verifier="qwen3", verdict="fail", summary="R1, R2", findings=[defect, far]),
    ]
    calls = [
        CallRecord(
            role="planner",
            module="billing.invoice",
            model="gpt-4.1",
            template="plan.j2",
            template_sha256="0" * 64,
            prompt_tokens=1200,
            completion_tokens=300,
            cost_usd=0.0061,
        ),
        CallRecord(
            role="executor",
            module="billing.invoice",
            model="gpt-4.1-mini",
            template="exec.j2",
            template_sha256="1" * 64,
            prompt_tokens=2000,
            completion_tokens=900,
            cost_usd=0.0022,
        ),
    ]
    module = ModuleResult(
        module="billing.invoice",
        spec="specs/billing/invoice.md",
        inputs_hash="sha256:" + "a" * 64,
        status="failed",
        attempts=2,
        tier="standard",
        files=["src/billing/invoice.py", "tests/billing/test_invoice.py"],
        verdicts=verdicts,
        findings=[gap, defect, far],
        disagreement=True,
    )
    money = ModuleResult(
        module="billing.money",
        spec="specs/billing/money.md",
        inputs_hash="sha256:" + "b" * 64,
        status="passed",
        attempts=1,
        tier="fast",
        verdicts=[
            Verdict(verifier="gpt-4.1", verdict="pass"),
            Verdict(verifier="o4-mini", verdict="pass"),
        ],
    )
    return RunRecord(
        run_id="run-1",
        started_at="2025-03-03T09:00:00Z",
        base=BASE,
        head=head,
        modules=[money, module],
        calls=calls,
        adopted=["src/billing/legacy_tax.py"],
    )


SCENARIO_PROBLEMS = [
    Problem(
        "src/billing/tax.py",
        11,
        "hand-edited",
        "edited by hand since generation",
        module="billing.tax",
        hint="edit specs/billing/tax.md and run `specmill regen billing.tax`",
    ),
    Problem(
        "specs/billing/money.md",
        1,
        "stale",
        "inputs changed since generation",
        module="billing.money",
    ),
]
REQUIREMENT_LINES = {"specs/billing/invoice.md": {"R1": 12, "R2": 13, "R3": 14, "R4": 15}}
GRAPH = {"billing.invoice": ["billing.money"], "billing.money": []}


INVOICE_SPEC = """\
---
outputs:
  - src/billing/invoice.py
  - tests/billing/test_invoice.py
depends_on: [billing.money]
---
# Invoice

- **R1** `Invoice.total()` returns the sum of line totals, rounded half-even to cents.
"""
MONEY_SPEC = "---\noutputs: [src/billing/money.py]\n---\n# Money\n\n- **M1** Cents.\n"
BASE_SPECS = {"specs/billing/money.md": MONEY_SPEC, "specs/billing/invoice.md": INVOICE_SPEC}
INVOICE_PATCH = """\
From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>
Subject: [PATCH] specmill: regenerate billing.invoice

---
 src/billing/invoice.py | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/src/billing/invoice.py b/src/billing/invoice.py
index 3b18e51..a8c2f1e 100644
--- a/src/billing/invoice.py
+++ b/src/billing/invoice.py
@@ -1,2 +1,2 @@
 def total(items):
-    return sum(items)
+    return sum(items, 0)
"""


def content_json(path: str, text: str, ref: str) -> dict[str, Any]:
    """GET /repos/{o}/{r}/contents/{path}?ref=…: a file, in GitHub's shape (base64 in lines)."""
    encoded = base64.encodebytes(text.encode("utf-8")).decode("ascii")
    url = f"https://api.github.com/repos/{REPO}/contents/{path}?ref={ref}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(text.encode("utf-8")),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": encoded,
        "sha": "e" * 40,
        "url": url,
        "git_url": f"https://api.github.com/repos/{REPO}/git/blobs/{'e' * 40}",
        "html_url": f"https://github.com/{REPO}/blob/{ref}/{path}",
        "download_url": f"https://raw.githubusercontent.com/{REPO}/{ref}/{path}",
        "_links": {"self": url},
    }


NOT_FOUND = {
    "message": "Not Found",
    "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
    "status": "404",
}


class GitHubMock:
    """The endpoints of one repository on a mocked GitHub (REST v3)."""

    def __init__(self, rsps: responses.RequestsMock, api: str = API, repo: str = REPO) -> None:
        self.rsps, self.base = rsps, f"{api}/repos/{repo}"

    def add(self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any) -> None:
        self.rsps.add(
            method, f"{self.base}{path}", json=body if body is not None else {}, status=status, **kw
        )

    def pull(self, number: int, pr: dict[str, Any], status: int = 200) -> None:
        self.add("GET", f"/pulls/{number}", pr, status)

    def listing(self, path: str, items: list[dict[str, Any]], per_page: int = 100) -> None:
        pages = [items[i : i + per_page] for i in range(0, len(items), per_page)] or [[]]
        for number, page in enumerate(pages, start=1):
            query = {"per_page": str(per_page)} | ({"page": str(number)} if number > 1 else {})
            headers = {}
            if number < len(pages):
                link = self.base.replace(":443", "")
                headers["Link"] = (
                    f'<{link}{path}?per_page={per_page}&page={number + 1}>; rel="next"'
                )
            self.add(
                "GET", path, page, headers=headers, match=[matchers.query_param_matcher(query)]
            )

    def reads(
        self,
        number: int,
        pr: dict[str, Any],
        files: list[dict[str, Any]],
        review_comments: Sequence[dict[str, Any]] = (),
        issue_comments: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.pull(number, pr)
        self.listing(f"/pulls/{number}/files", files)
        self.listing(f"/pulls/{number}/comments", list(review_comments))
        self.listing(f"/issues/{number}/comments", list(issue_comments))

    def contents(self, path: str, text: str | None, ref: str = BASE) -> None:
        """A file of the repository at ``ref`` (None: there is none, a 404)."""
        match = [matchers.query_param_matcher({"ref": ref})]
        if text is None:
            self.add("GET", f"/contents/{path}", NOT_FOUND, 404, match=match)
        else:
            self.add("GET", f"/contents/{path}", content_json(path, text, ref), match=match)

    def base_specs(self, specs: dict[str, str | None] | None = None, ref: str = BASE) -> None:
        """What a report reads to check a patch: no config file, then each module's spec."""
        self.contents("specmill.toml", None, ref)
        self.contents("pyproject.toml", None, ref)
        chosen: dict[str, str | None] = dict(BASE_SPECS) if specs is None else specs
        for path, text in chosen.items():
            self.contents(path, text, ref)

    def head_tree(self, files: dict[str, str], commit: str = FORK_HEAD) -> None:
        """The git data API at ``commit``, for the folders on the way to ``files`` and
        their blobs (what a report reads to apply a bundle's patch to the head)."""
        for sha, listing in tree_objects(files, commit).items():
            self.add("GET", f"/git/trees/{sha}", listing)
        blobs = {}
        for text in files.values():
            data = text.encode("utf-8")
            blobs[hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()] = data
        for sha, data in blobs.items():  # a blob is read once, whatever holds it
            self.add("GET", f"/git/blobs/{sha}", blob_json(sha, data))

    def requests(self) -> list[tuple[str, str]]:
        prefix = self.base.replace(":443", "")
        made = []
        for call in self.rsps.calls:
            url = call.request.url.replace(":443", "").replace(prefix, "")
            made.append((call.request.method, url.split("?")[0]))
        return made

    def body(self, index: int) -> Any:
        return json.loads(self.rsps.calls[index].request.body)

    def posted(self, path: str) -> Any:
        """The body of the one POST or PATCH whose URL contains ``path``."""
        (found,) = [
            call.request
            for call in self.rsps.calls
            if call.request.method in ("POST", "PATCH") and path in (call.request.url or "")
        ]
        return json.loads(found.body)


def blob_json(sha: str, data: bytes) -> dict[str, Any]:
    """GET /repos/{o}/{r}/git/blobs/{sha}, in GitHub's shape (base64 in lines)."""
    return {
        "sha": sha,
        "node_id": "B_" + sha[:12],
        "size": len(data),
        "url": f"https://api.github.com/repos/{REPO}/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode("ascii"),
        "encoding": "base64",
    }


def tree_objects(files: dict[str, str], commit: str) -> dict[str, dict[str, Any]]:
    """GET /repos/{o}/{r}/git/trees/{sha} answers for the folders of ``files`` (regular
    files), with git's own object ids; the top one is asked for by the commit's SHA."""
    folders: dict[str, dict[str, tuple[str, str, str, int]]] = {"": {}}
    for path, text in files.items():
        data = text.encode("utf-8")
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        parts = path.split("/")
        for depth in range(len(parts) - 1):
            folders.setdefault("/".join(parts[: depth + 1]), {})
        folders["/".join(parts[:-1])][parts[-1]] = ("100644", "blob", sha, len(data))
    shas: dict[str, str] = {}
    for folder in sorted(folders, key=lambda f: -f.count("/") - (f != "")):
        entries = folders[folder]
        raw = b"".join(
            b"%s %s\0" % (mode.lstrip("0").encode(), name.encode()) + bytes.fromhex(sha)
            for name, (mode, _, sha, _) in sorted(
                entries.items(), key=lambda item: item[0] + ("/" if item[1][1] == "tree" else "")
            )
        )
        shas[folder] = hashlib.sha1(b"tree %d\0" % len(raw) + raw).hexdigest()
        if folder:
            parent, _, name = folder.rpartition("/")
            folders[parent][name] = ("040000", "tree", shas[folder], 0)
    answers = {}
    for folder, sha in shas.items():
        tree = [
            {"path": name, "mode": mode, "type": kind, "sha": oid,
             "url": f"https://api.github.com/repos/{REPO}/git/{kind}s/{oid}"}
            | ({"size": size} if kind == "blob" else {})
            for name, (mode, kind, oid, size) in sorted(folders[folder].items())
        ]  # fmt: skip
        url = f"https://api.github.com/repos/{REPO}/git/trees/{sha}"
        answers[commit if folder == "" else sha] = {
            "sha": sha,
            "url": url,
            "tree": tree,
            "truncated": False,
        }
    return answers
