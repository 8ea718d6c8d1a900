"""A local, in-memory server that speaks the VideoGen API, for development and tests.

Run it with ``python -m studio.sandbox``; see ``--help`` for its settings.
It is deliberately independent of Django: standard library and Pillow only.

It follows VideoGen's published reference (docs.videogen.io) first, then what
the official SDK needs: image tools, executions with hydrated results, files
with analysis (descriptions) and search, public previews, webhook endpoints
and signed deliveries of tool and file events, and the documented rate-limit
table by endpoint group. Where both are silent, a named constant says it is a
guess. It has endpoints of its own for tests (admin.py): faults to inject at
run time, counters, a reset, and a manual clock (``--manual-clock``) that a
test moves on instead of sleeping.
"""
