"""Jinja2 templates shipped with specmill (agent prompts, reports, review comments)."""
