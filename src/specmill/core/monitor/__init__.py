"""The pipeline monitor's view of the run records: numbers, tables and chart geometry. Pure.

``view.build_view`` turns run records, the modules' current status and their
dependencies into a ``MonitorView``; ``engine.monitor_site`` renders it as HTML.
Every number the page shows is computed here, in Python, so that tests can compare
it with the records directly.
"""
