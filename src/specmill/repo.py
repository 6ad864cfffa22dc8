"""The git adapter: the only place the CLI and the core's callers talk to git (GitPython)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import git

from specmill.errors import SpecmillError
from specmill.gitcli import GIT

git.refresh(GIT)  # GitPython runs the git found when specmill started (gitcli.GIT)


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
            return str(self.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")).strip()
        except git.GitCommandError:
            raise SpecmillError(f"unknown revision {rev!r}") from None

    def has_commits(self) -> bool:
        try:
            self.git.rev_parse("--verify", "--quiet", "HEAD")
            return True
        except git.GitCommandError:
            return False

    def changed_paths(self, base: str, head: str | None = None) -> set[str]:
        """Paths changed between the merge base of ``base`` and ``head`` (default: the
        working tree, untracked files included); see ``specmill.gitcli.changed_paths``."""
        from specmill import gitcli

        return gitcli.changed_paths(
            self.root, self.rev_parse(base), self.rev_parse(head) if head else None
        )

    def show(self, rev: str, path: str) -> str | None:
        """A file's text at ``rev``, or None when it does not exist there."""
        blobs = self._tree(rev)
        sha = blobs.get(path)
        if sha is None:
            return None
        _, _, _, stream = self.git.stream_object_data(sha)
        data: bytes = stream.read()
        return data.decode("utf-8", "surrogateescape")

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

    # --- the engine: snapshots, worktrees, commits, notes, blame ---------------------

    def git_path(self, name: str) -> Path:
        """A path inside the repository's git directory (``git rev-parse --git-path``)."""
        path = Path(self.git.rev_parse("--git-path", name).strip())
        return path if path.is_absolute() else self.root / path

    def snapshot(self) -> str:
        """A commit of the working tree as it is: tracked edits and untracked files.

        Built in a temporary index, so neither the user's index nor their files change;
        the commit is on no branch (``git gc`` collects it later).
        """
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory(prefix="specmill-index-") as folder:
            index = Path(folder) / "index"
            source = self.git_path("index")
            if source.exists():
                shutil.copyfile(source, index)  # keeps stat data: unchanged files are not re-read
            env = {"GIT_INDEX_FILE": str(index)}
            self.git.add("--all", "--", ".", env=env)
            tree = self.git.write_tree(env=env).strip()
        parents = ["-p", "HEAD"] if self.has_commits() else []
        message = "specmill: snapshot of the working tree"
        return str(self.git.commit_tree(tree, *parents, "-m", message, env=_SNAPSHOT_IDENTITY))

    def objects_dir(self) -> Path:
        """The object database every worktree of this repository shares."""
        return Path(self.git_repo.common_dir).resolve() / "objects"

    def packed_refs(self) -> str:
        """Every ref and its object, in ``packed-refs`` form (``<sha> <refname>`` lines)."""
        refs = str(self.git.for_each_ref("--format=%(objectname) %(refname)")).strip()
        return f"{refs}\n" if refs else ""

    def remove_worktree(self, path: Path) -> None:
        # Already gone, or never registered: prune() forgets it.
        with contextlib.suppress(git.GitCommandError):
            self.git.worktree("remove", "--force", "--force", str(path))

    def prune_worktrees(self) -> None:
        self.git.worktree("prune")

    def worktrees(self) -> list[Path]:
        out = self.git.worktree("list", "--porcelain")
        return [
            Path(line[len("worktree ") :])
            for line in out.splitlines()
            if line.startswith("worktree ")
        ]

    def uncommitted(self, paths: list[str]) -> set[str]:
        """Those of ``paths`` whose working-tree or staged state differs from HEAD."""
        found: set[str] = set()
        for start in range(0, len(paths), 500):  # keep the command line short
            chunk = paths[start : start + 500]
            out = self.git.status("--porcelain", "-z", "--untracked-files=all", "--", *chunk)
            entries = iter(out.split("\0"))
            for entry in entries:
                if len(entry) > 3:
                    found.add(entry[3:])
                    if entry[0] in "RC":
                        next(entries, None)  # a rename's source path follows
        return found

    def commit_paths(self, paths: list[str], message: str) -> str:
        """Commit exactly ``paths`` from the working tree; other staged work stays staged."""
        self.git.add("--", *paths)  # new files must be known to git for --only
        try:
            self.git.commit("--only", "--no-verify", "--quiet", "-m", message, "--", *paths)
        except git.GitCommandError as exc:
            raise SpecmillError(
                f"git commit failed: {(exc.stderr or '').strip() or exc}",
                hint="the files are written; commit them yourself, or fix git and run again",
            ) from None
        return self.rev_parse("HEAD")

    def add_note(self, commit: str, text: str, ref: str) -> None:
        import tempfile

        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json") as note:
            note.write(text)
            note.flush()
            self.git.notes(f"--ref={ref}", "add", "--force", "--file", note.name, commit)

    def note(self, commit: str, ref: str) -> str | None:
        try:
            return str(self.git.notes(f"--ref={ref}", "show", commit))
        except git.GitCommandError:
            return None

    def annotated(self, ref: str) -> list[str]:
        """Commits that carry a note under ``ref``."""
        try:
            out = self.git.notes(f"--ref={ref}", "list")
        except git.GitCommandError:
            return []
        return [line.split()[1] for line in out.splitlines() if len(line.split()) == 2]

    def notes(self, ref: str) -> dict[str, str]:
        """Every note under ``ref``: annotated commit -> the note's text. The blobs are
        read through git's one long-lived ``cat-file`` process, not a process per note."""
        try:
            out = self.git.notes(f"--ref={ref}", "list")
        except git.GitCommandError:
            return {}
        found = {}
        for line in out.splitlines():
            blob, _, commit = line.partition(" ")
            if commit:
                _, _, _, data = self.git.get_object_data(blob)
                found[commit] = data.decode("utf-8", "surrogateescape")
        return found

    def commits_in(self, revisions: str) -> frozenset[str]:
        """The commits ``git rev-list`` gives for ``revisions`` (``A..B``, ``B``…)."""
        words = revisions.split()
        if not words or any(w.startswith("-") for w in words):
            raise SpecmillError(f"{revisions!r} is not a commit range (A..B, or one revision)")
        try:
            return frozenset(self.git.rev_list(*words, "--").split())
        except git.GitCommandError as exc:
            raise SpecmillError(
                f"unknown commit range {revisions!r}: {(exc.stderr or '').strip() or exc}"
            ) from None

    def message(self, commit: str) -> str:
        return str(self.git.log("-1", "--format=%B", commit))

    def blame_line(self, path: str, line: int) -> tuple[str, int, str]:
        """The commit that last changed ``line`` of ``path`` (working tree), and the
        line's number and file name in that commit. A zero sha: not committed yet."""
        try:
            out = self.git.blame("--porcelain", "-L", f"{line},{line}", "--", path)
        except git.GitCommandError as exc:
            raise SpecmillError(f"git blame {path}:{line}: {(exc.stderr or '').strip()}") from None
        first, *rest = out.splitlines()
        sha, original = first.split()[:2]
        name = next((r[len("filename ") :] for r in rest if r.startswith("filename ")), path)
        return sha, int(original), name


_SNAPSHOT_IDENTITY = {
    "GIT_AUTHOR_NAME": "specmill",
    "GIT_AUTHOR_EMAIL": "specmill@localhost",
    "GIT_COMMITTER_NAME": "specmill",
    "GIT_COMMITTER_EMAIL": "specmill@localhost",
}
