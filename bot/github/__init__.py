"""The GitHub bot: events, decisions, review, summary, bundles (pure), publish (PyGithub).

Nothing here imports PyGithub at module level: ``bot.github.client`` and
``bot.github.publish`` import it when they first talk to GitHub.
"""
