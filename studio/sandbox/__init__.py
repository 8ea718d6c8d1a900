"""A local, in-memory server that speaks the VideoGen API, for development and tests.

Run it with ``python -m studio.sandbox``; see ``--help`` for its settings.
It is deliberately independent of Django: standard library and Pillow only.
"""
