"""Quick checks (in `make test`) of the embedded broker (studio/broker.py), with
kombu clients on a real SQLite file and a real consumer process killed -9:
what makes it as crash-safe as Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from kombu import Connection, Exchange, Queue

import studio.broker  # noqa: F401  (the studio-sqlite transport)

from .conftest import REPO_ROOT

QUEUE = Queue("jobs", Exchange("jobs"), routing_key="jobs")


def connect(path, visibility_timeout=30.0) -> Connection:
    return Connection(
        "studio-sqlite://localhost/",
        transport_options={"path": str(path), "visibility_timeout": visibility_timeout,
                           "polling_interval": 0.05},
    )


def publish(path, *bodies) -> None:
    with connect(path) as conn, conn.Producer() as producer:
        for body in bodies:
            producer.publish(body, exchange=QUEUE.exchange, routing_key="jobs", declare=[QUEUE])


def take(conn, timeout=0.0):
    """One message from the queue, or None (the consumer's lease starts now)."""
    deadline = time.monotonic() + timeout
    while True:
        message = QUEUE(conn.channel()).get(no_ack=False)
        if message or time.monotonic() >= deadline:
            return message
        time.sleep(0.05)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "var" / "broker.sqlite3"


def test_a_message_whose_consumer_is_killed_is_delivered_again(path):
    publish(path, {"n": 1})
    consumer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from kombu import Connection, Exchange, Queue
            import studio.broker
            conn = Connection("studio-sqlite://localhost/",
                              transport_options={{"path": {str(path)!r}, "visibility_timeout": 2}})
            queue = Queue("jobs", Exchange("jobs"), routing_key="jobs")(conn.channel())
            message = queue.get(no_ack=False)
            print(message.payload["n"], flush=True)
            time.sleep(60)  # killed while it holds the message, unacked
        """)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert consumer.stdout.readline().strip() == "1"
    finally:
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()

    with connect(path) as conn:
        assert take(conn) is None  # leased: not before its lease runs out
        again = take(conn, timeout=10)
        assert again.payload == {"n": 1}
        assert again.properties["delivery_tag"].endswith(".2")  # the second delivery
        again.ack()
        time.sleep(2.5)
        assert take(conn) is None  # acked: gone for good


def test_reject_with_requeue_is_visible_at_once_and_ack_removes(path):
    publish(path, {"n": 1}, {"n": 2})
    with connect(path) as conn:
        first = take(conn)
        assert first.payload == {"n": 1}
        first.reject(requeue=True)  # Celery's reject_on_worker_lost
        again = take(conn)
        assert again.payload == {"n": 1}, "back at once, in its old place"
        again.ack()
        second = take(conn)
        second.reject(requeue=False)
        assert take(conn) is None
        assert conn.default_channel._size("jobs") == 0


def test_a_live_consumer_renews_its_lease(path):
    publish(path, {"n": 1})
    with connect(path, visibility_timeout=1) as holder, connect(path) as other:
        queue = holder.SimpleQueue(QUEUE)
        held = queue.get(timeout=5)
        # Drain events for three lease periods: each drain renews what is held.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                holder.drain_events(timeout=0.2)
            except TimeoutError:
                pass
            assert take(other) is None, "renewed: never handed to another consumer"
        # The holder stops renewing (it hangs): the message comes back.
        taken = take(other, timeout=5)
        assert taken.payload == {"n": 1}
        held.ack()  # a stale ack does not remove the new delivery
        assert other.default_channel._size("jobs") == 0  # leased by `other`...
        taken.reject(requeue=True)
        assert take(other).payload == {"n": 1}  # ...and still there
        queue.close()


def test_bindings_are_shared_by_every_process(path):
    """A fanout reaches queues that other connections bound (celery inspect, broadcasts)."""
    fanout = Exchange("everyone", type="fanout")
    with connect(path) as a, connect(path) as b:
        for conn, name in ((a, "a"), (b, "b")):
            Queue(name, fanout)(conn.channel()).declare()
    with connect(path) as publisher, publisher.Producer() as producer:
        producer.publish({"hello": 1}, exchange=fanout, routing_key="")
    with connect(path) as conn:
        for name in ("a", "b"):
            assert Queue(name, fanout)(conn.channel()).get(no_ack=True).payload == {"hello": 1}


def test_broker_files_stay_under_var_and_settings_make_no_directories(tmp_path):
    var = tmp_path / "var"
    env = {**os.environ, "STUDIO_VAR_DIR": str(var), "REDIS_URL": "",
           "DJANGO_SETTINGS_MODULE": "studio.settings", "PYTHONPATH": str(REPO_ROOT)}
    run = dict(cwd=tmp_path, env=env, check=True, capture_output=True, text=True)

    subprocess.run([sys.executable, "-c", "import studio.settings"], **run)
    assert not var.exists(), "importing settings created a directory"

    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import django
        django.setup()
        from studio.celery import app
        with app.connection_for_write() as conn, conn.Producer() as producer:
            producer.publish({"n": 1}, exchange="studio", routing_key="studio",
                             declare=[app.amqp.queues["studio"]])
    """)], **run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["var"], "no control/ or others"
    assert (var / "broker.sqlite3").exists()
    with connect(var / "broker.sqlite3") as conn:
        studio = Queue("studio", Exchange("studio"), routing_key="studio")
        assert studio(conn.channel()).get(no_ack=True).payload == {"n": 1}
