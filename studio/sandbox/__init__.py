"""A local, in-memory server that speaks the VideoGen API, for development and tests.

Run it with ``python -m studio.sandbox``; see ``--help`` for its settings.
It is deliberately independent of Django: standard library and Pillow only.

Besides the API (image tools, executions, files, webhook endpoints and signed
deliveries, rate limits), it has endpoints of its own for tests: faults to
inject at run time, counters, and a reset (admin.py).
"""
