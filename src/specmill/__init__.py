"""specmill: specs are the source, generated code is compiler output.

This package must stay cheap to import: the pre-commit hooks import ``specmill.core``
and nothing heavy may load on the way (no click, rich, openai, PyGithub, GitPython).
"""

__version__ = "0.1.0"
FORMAT_VERSION = "2"  # 2: short digests, spec inputs without outputs/layout
