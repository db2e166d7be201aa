"""``python -m devtools.chaos.email_kill``: SIGKILL a process that sends outbox email, often.

The email outbox is at-least-once (``activities/notifications.py``): a sender killed
between the SMTP server's reply and the ``sent`` mark has the retry send the message
again, with the same ``Message-ID``. The worker-kill scenario hits that moment a handful
of times per 30-minute run; this hits it in minutes: a sender process runs
``EmailActivities.send`` from several threads (plus one thread that keeps the GIL busy,
as a worker's event loop does), and is SIGKILLed at random every 1.5-3 s. Each new
sender first retries every key not yet ``sent``, as Temporal retries an activity.

At the end the SMTP sink's index is counted per key: every key must have arrived (0
lost), every copy with the key's own ``Message-ID`` (so a receiver can tell a repeat),
and every row must say ``sent``; keys that arrived more than once are counted and
reported (duplicates, each a retry of the same message), not failed.

Real components: PostgreSQL (a database created and dropped, ``--postgres`` or
``OMS_CHAOS_POSTGRES_URL``) and the development SMTP sink, over TCP from the killed process.
Prints the figures; exits 1 when an email was lost, a copy carried another Message-ID or
a row was left unsent.
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
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from activities.adapters.email_smtp import SmtpMailer
from activities.notifications import EmailActivities
from devtools.chaos.databases import PostgresDatabase
from devtools.supervisor import free_port
from oms.models.notifications import EmailRequest
from oms.ports.email import message_id_for
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


def sender(database_url: str, smtp_port: int, tag: str, threads: int, ready: Path) -> None:
    """Retry every unfinished key, then send new ones from ``threads`` threads until killed
    (``tag == "final"``: only the retries); ``ready`` is created once imports are done."""
    ready.touch()
    db = Database(database_url)
    acts = EmailActivities(
        SmtpMailer("127.0.0.1", smtp_port, "orders@oms.example", timeout=10), Outbox(db)
    )

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


def _wait_for(ready: Path, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Return once the sender ``proc`` created ``ready`` (or ended, or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
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
        env = {**os.environ, SENDER_ENV: f"{url} {port} {threads} {workdir}"}
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
                # The kill clock starts once the sender runs: on a loaded machine its
                # imports alone can take longer than the interval.
                _wait_for(workdir / f"ready-{tag}", proc)
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
        received: Counter[str] = Counter()
        message_ids: defaultdict[str, set[str]] = defaultdict(set)
        for line in index:
            fields = line.split("\t")
            received[fields[4]] += 1
            message_ids[fields[4]].add(fields[6] if len(fields) > 6 else "")
        keys = {key for key, _ in rows}
        lost = sorted(key for key in keys if received[key] == 0)
        repeated = sorted(key for key in keys if received[key] > 1)
        # A repeat a receiver could not recognise: a copy without the key's own Message-ID.
        foreign = sorted(k for k in keys if message_ids[k] - {message_id_for(k)})
        unsent = sorted(key for key, status in rows if status != "sent")
        distinct = len(set().union(*message_ids.values()))
        elapsed = time.monotonic() - started
        print(f"email-kill: {kills} kills in {elapsed:.0f} s, {threads} sending threads")
        print(
            f"  emails {len(rows)}, received {sum(received.values())} "
            f"({distinct} distinct Message-IDs), lost {len(lost)}, "
            f"duplicates {sum(received[k] - 1 for k in repeated)} "
            f"(of {len(repeated)} keys, each the same Message-ID again), "
            f"other Message-ID {len(foreign)}, not sent {len(unsent)}"
        )
        for key in (lost + foreign + unsent)[:10]:
            what = "LOST" if key in lost else "OTHER-ID" if key in foreign else "NOT-SENT"
            print(f"  {what} {key} x{received[key]} {sorted(message_ids[key])}")
        for key in repeated[:10]:
            print(f"  duplicate {key} x{received[key]} {sorted(message_ids[key])}")
        ok = bool(rows) and not lost and not foreign and not unsent
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
        url, port, threads, workdir = os.environ[SENDER_ENV].split(maxsplit=3)
        sender(url, int(port), args.sender, int(threads), Path(workdir) / f"ready-{args.sender}")
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
