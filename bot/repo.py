"""The git adapter: the only place the CLI and the core's callers talk to git (GitPython)."""

from __future__ import annotations

from pathlib import Path

import git

from bot.errors import SpecmillError

WORKTREE = None  # "head" meaning: the working tree, uncommitted changes included


class Repo:
    def __init__(self, root: Path) -> None:
        try:
            self.git_repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise SpecmillError(f"{root} is not inside a git repository") from None
        self.root = Path(self.git_repo.working_tree_dir or root)
        self._blobs: dict[str, dict[str, str]] = {}

    @property
    def git(self) -> git.Git:
        return self.git_repo.git

    def rev_parse(self, rev: str) -> str:
        try:
            return self.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}").strip()
        except git.GitCommandError:
            raise SpecmillError(f"unknown revision {rev!r}") from None

    def has_commits(self) -> bool:
        try:
            self.git.rev_parse("--verify", "--quiet", "HEAD")
            return True
        except git.GitCommandError:
            return False

    def list_files(self) -> list[str]:
        """Tracked files plus untracked ones git does not ignore."""
        out = self.git.ls_files("-z", "--cached", "--others", "--exclude-standard")
        return sorted({p for p in out.split("\0") if p})

    def changed_paths(self, base: str, head: str | None = WORKTREE) -> set[str]:
        """Paths that differ between ``base`` and ``head`` (default: the working tree).

        As ``git diff base...head``: against the merge base, so changes on the base
        branch since the fork are not counted; renames count as both paths.
        """
        base_sha = self.rev_parse(base)
        if head is None:
            merge_base = self._merge_base(base_sha, "HEAD") if self.has_commits() else base_sha
            names = self.git.diff("--name-only", "-z", "--no-renames", merge_base)
            untracked = self.git.ls_files("-z", "--others", "--exclude-standard")
            return {p for p in (names + "\0" + untracked).split("\0") if p}
        head_sha = self.rev_parse(head)
        merge_base = self._merge_base(base_sha, head_sha)
        names = self.git.diff("--name-only", "-z", "--no-renames", merge_base, head_sha)
        return {p for p in names.split("\0") if p}

    def _merge_base(self, a: str, b: str) -> str:
        try:
            return self.git.merge_base(a, b).strip()
        except git.GitCommandError:
            return a  # unrelated histories: compare with base itself

    def show(self, rev: str, path: str) -> str | None:
        """A file's text at ``rev``, or None when it does not exist there."""
        blobs = self._tree(rev)
        sha = blobs.get(path)
        if sha is None:
            return None
        _, _, _, stream = self.git.stream_object_data(sha)
        data: bytes = stream.read()
        return data.decode("utf-8", "surrogateescape")

    def tree_paths(self, rev: str) -> list[str]:
        return sorted(self._tree(rev))

    def _tree(self, rev: str) -> dict[str, str]:
        if rev not in self._blobs:
            sha = self.rev_parse(rev)
            out = self.git.ls_tree("-r", "-z", "--full-tree", sha)
            blobs: dict[str, str] = {}
            for entry in out.split("\0"):
                if not entry:
                    continue
                meta, path = entry.split("\t", 1)
                _, kind, blob = meta.split()
                if kind == "blob":
                    blobs[path] = blob
            self._blobs[rev] = blobs
        return self._blobs[rev]
