"""``python -m devtools.chaos.email_kill``: SIGKILL a process that sends outbox email, often.

The email outbox's one weak spot is the moment between the final "." of SMTP DATA and
the COMMIT of the ``sending`` mark (``activities/notifications.py``). The worker-kill
scenario hits it a handful of times per 30-minute run; this hits it in minutes: a sender
process runs ``EmailActivities.send`` from several threads (plus one thread that keeps
the GIL busy, as a worker's event loop does), and is SIGKILLed at random every 1.5-3 s.
Each new sender first retries every key not yet ``sent``, as Temporal retries an
activity. At the end every key must be in the SMTP sink's index exactly once.

Real components: PostgreSQL (a database created and dropped, ``--postgres`` or
``OMS_CHAOS_POSTGRES_URL``) and the development SMTP sink, over TCP from the killed process.
Prints the figures; exits 1 when an email was lost or doubled.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from activities.adapters.email_smtp import Mailer
from activities.notifications import EmailActivities
from devtools.chaos.databases import PostgresDatabase
from devtools.supervisor import free_port
from oms.models.notifications import EmailRequest
from oms.store.db import Database
from oms.store.migrate import upgrade
from oms.store.outbox import Outbox
from sandboxes.smtp_sink import start_sink

SENDER_ENV = "OMS_EMAIL_KILL_SENDER"


def _request(key: str) -> EmailRequest:
    return EmailRequest(
        key=key,
        to="ann@example.com",
        locale="en",
        template="order_confirmed",
        context={
            "customer_name": "Ann",
            "order_id": key,
            "lines": [{"sku": "MUG-1", "quantity": 1, "line_total": "99.00 SEK"}],
            "total": "99.00 SEK",
        },
    )


def sender(database_url: str, smtp_port: int, tag: str, threads: int) -> None:
    """Retry every unfinished key, then send new ones from ``threads`` threads until killed
    (``tag == "final"``: only the retries)."""
    db = Database(database_url)
    acts = EmailActivities(
        Mailer("127.0.0.1", smtp_port, "orders@oms.example", timeout=10), Outbox(db)
    )
    # The parent starts its kill timer from here: starting the interpreter and importing
    # can take longer than the timer (a loaded machine), and a sender killed before it
    # sends anything tests nothing.
    print(f"ready {tag}", flush=True)

    def send(key: str) -> None:
        for _ in range(5):
            try:
                ActivityEnvironment().run(acts.send, _request(key))
                return
            except Exception as exc:  # retried like an activity; the last one is reported
                print(f"retry {key}: {exc!r}", flush=True)

    with db.engine.connect() as conn:
        unfinished = [
            k for (k,) in conn.execute(text("SELECT key FROM notifications WHERE status <> 'sent'"))
        ]
    for key in unfinished:
        send(key)
    if tag == "final":
        return
    numbers = itertools.count()

    def keep_sending(thread: int) -> None:
        while True:
            send(f"EK-{tag}-{thread}-{next(numbers)}")

    def keep_the_gil_busy() -> None:
        n = 0
        while True:
            n += 1

    workers = [
        threading.Thread(target=keep_sending, args=(t,), daemon=True) for t in range(threads)
    ]
    workers.append(threading.Thread(target=keep_the_gil_busy, daemon=True))
    for w in workers:
        w.start()
    threading.Event().wait()


def _wait_until_ready(log: Path, tag: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait until sender ``tag`` has logged that it is ready; raises ``RuntimeError`` when
    it exits first or takes over a minute."""
    deadline = time.monotonic() + 60
    while f"ready {tag}\n" not in log.read_text(encoding="utf-8", errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"sender {tag} did not start (see {log})")
        time.sleep(0.05)


def run(postgres: str, kills: int, threads: int, workdir: Path) -> int:
    mail = workdir / "mail"
    port = free_port()
    # The sink runs in this process (a thread): only the sender is killed.
    sink = start_sink("127.0.0.1", port, mail)
    database = PostgresDatabase(postgres)
    try:
        url = database.create()
        upgrade(url)
        env = {**os.environ, SENDER_ENV: f"{url} {port} {threads}"}
        started = time.monotonic()
        with (workdir / "sender.log").open("ab") as log:
            for k in range(kills + 1):
                tag = "final" if k == kills else str(k)
                proc = subprocess.Popen(
                    [sys.executable, "-m", "devtools.chaos.email_kill", "--sender", tag],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                if tag == "final":
                    proc.wait()
                    break
                _wait_until_ready(workdir / "sender.log", tag, proc)
                time.sleep(random.uniform(1.5, 3.0))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        time.sleep(1.0)  # the sink writes its index after it answers
        db = Database(url)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT key, status FROM notifications")).all()
        db.dispose()
        index = (
            (mail / "index.txt").read_text(encoding="utf-8").splitlines() if mail.exists() else []
        )
        received = Counter(line.split("\t")[4] for line in index)
        lost = sorted(key for key, _ in rows if received[key] == 0)
        doubled = sorted(key for key, _ in rows if received[key] > 1)
        unsent = sorted(key for key, status in rows if status != "sent")
        elapsed = time.monotonic() - started
        print(f"email-kill: {kills} kills in {elapsed:.0f} s, {threads} sending threads")
        print(
            f"  emails {len(rows)}, received {sum(received.values())}, lost {len(lost)}, "
            f"doubled {len(doubled)}, not sent {len(unsent)}"
        )
        for key in (lost + doubled)[:10]:
            print(f"  {'LOST' if key in lost else 'DOUBLED'} {key} x{received[key]}")
        ok = not lost and not doubled and not unsent and rows
        print(f"  {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        sink.stop()
        database.drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.chaos.email_kill", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--kills", type=int, default=80)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", default=os.environ.get("OMS_CHAOS_POSTGRES_URL", ""))
    parser.add_argument("--workdir", type=Path, help="keep the logs and mail here")
    parser.add_argument("--sender", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sender:
        url, port, threads = os.environ[SENDER_ENV].split()
        sender(url, int(port), args.sender, int(threads))
        return 0
    if not args.postgres:
        parser.error("a PostgreSQL server URL is needed: --postgres or OMS_CHAOS_POSTGRES_URL")
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return run(args.postgres, args.kills, args.threads, args.workdir)
    with tempfile.TemporaryDirectory(prefix="oms-email-kill-") as tmp:
        return run(args.postgres, args.kills, args.threads, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
