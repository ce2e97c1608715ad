"""A program with its own SIGALRM interval timer, a select() loop, poll() and
sleeps: its output must be the same with and without heapline."""

import os
import select
import signal
import time

ticks = []


def on_alarm(signum, frame):
    ticks.append(signum)


signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
r, w = os.pipe()
woken = 0
deadline = time.monotonic() + 0.5
while time.monotonic() < deadline:
    ready, _, _ = select.select([r], [], [], 0.05)  # EINTR is retried by Python (PEP 475)
    if ready:
        os.read(r, 1)
    woken += 1
signal.setitimer(signal.ITIMER_REAL, 0, 0)
p = select.poll()
p.register(r, select.POLLIN)
os.write(w, b"z")
events = p.poll(1000)
time.sleep(0.05)
total = sum(i * i for i in range(200_000))
print("alarms seen:", len(ticks) > 10)
print("select loop ran:", woken > 0)
print("poll events:", [(fd == r, ev & select.POLLIN != 0) for fd, ev in events])
print("sum:", total)
