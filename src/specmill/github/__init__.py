"""The GitHub bot: events, decisions, review, summary, bundles (pure), publish (PyGithub).

Nothing here imports PyGithub at module level: ``specmill.github.client`` and
``specmill.github.publish`` import it when they first talk to GitHub.
"""
