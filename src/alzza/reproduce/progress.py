"""Progress of a reproduction: done, running, failed, waiting, and the time left.

The time left is the mean wall time of the tasks finished so far, times the tasks still
to come, spread over the parallel slots (workers). It is an estimate ("~"), shown once a
first task has finished. Methods may be called from several threads (the local pool).
"""

from __future__ import annotations

import threading
import time

from ..training.loop import format_accuracy


def format_duration(seconds: float) -> str:
    """12 → '12 s', 125 → '2 min 5 s', 4000 → '1 h 7 min'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def outcome_summary(outcome: dict) -> str:
    """'accuracy 0.970 (book 0.976)' for a finished task, else its status and message."""
    if outcome["status"] != "done":
        return f"{outcome['status']}: {outcome.get('message') or 'no message'}"
    result = outcome.get("result") or {}
    metrics, book = result.get("metrics") or {}, result.get("book") or {}
    if "accuracy" in metrics:
        text = f"accuracy {format_accuracy(metrics['accuracy'])}"
        if book.get("accuracy") is not None:
            text += f" (book {format_accuracy(book['accuracy'])})"
        return text
    if "parameters" in metrics:
        return f"{metrics['parameters']:,} parameters (book {book.get('parameters', '—')})"
    return "done"


class Progress:
    """Counts tasks by state and prints one line per event."""

    def __init__(self, total: int, slots: int, printer=print, clock=time.time):
        self.total, self.slots, self.printer, self.clock = total, max(1, slots), printer, clock
        self.running: dict[str, float] = {}
        self.done = self.failed = self.skipped = 0
        self.durations: list[float] = []
        self.start = self.last_line = clock()
        self._lock = threading.Lock()

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped

    def seconds_left(self) -> float | None:
        """The estimated wall time still needed, or None before any task has finished."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        now = self.clock()
        waiting = self.total - self.finished - len(self.running)
        # running tasks: what is left of their expected time; waiting ones: a whole mean each
        work = sum(max(0.0, mean - (now - began)) for began in self.running.values()) + waiting * mean
        return work / self.slots

    def status_line(self) -> str:
        waiting = self.total - self.finished - len(self.running)
        parts = [f"{self.done} done", f"{len(self.running)} running", f"{self.failed} failed", f"{waiting} waiting"]
        if self.skipped:
            parts.insert(1, f"{self.skipped} up to date")
        left = self.seconds_left()
        if self.finished == self.total:
            tail = f"finished in {format_duration(self.clock() - self.start)}"
        else:
            tail = f"~{format_duration(left)} left" if left is not None else "time left: after the first task"
        return f"[{self.finished}/{self.total}] " + ", ".join(parts) + f"; {tail}"

    def skip(self, name: str, reason: str) -> None:
        with self._lock:
            self.skipped += 1
            self.printer(f"skip     {name}: {reason}")

    def started(self, name: str, where: str = "") -> None:
        with self._lock:
            if name in self.running:
                return
            self.running[name] = self.clock()
            self.printer(f"start    {name}" + (f" on {where}" if where else ""))

    def finished_task(self, name: str, outcome: dict) -> None:
        with self._lock:
            began = self.running.pop(name, None)
            seconds = outcome.get("seconds")
            if seconds is None and began is not None:
                seconds = self.clock() - began
            if outcome["status"] == "done":
                self.done += 1
                self.durations.append(float(seconds or 0.0))
                label = "done"
            else:
                self.failed += 1
                if seconds is not None:
                    self.durations.append(float(seconds))
                label = outcome["status"].upper()
            took = f" in {format_duration(seconds)}" if seconds is not None else ""
            self.printer(f"{label:<8} {name}{took}: {outcome_summary(outcome)}")
            self.printer("  " + self.status_line())
            self.last_line = self.clock()

    def tick(self, quiet_seconds: float = 0.0) -> None:
        """A line while tasks run (what is running, for how long), unless the last status
        line is less than ``quiet_seconds`` old."""
        with self._lock:
            now = self.clock()
            if now - self.last_line < quiet_seconds:
                return
            self.last_line = now
            names = ", ".join(f"{name} {format_duration(now - began)}" for name, began in self.running.items())
            self.printer("  " + self.status_line() + (f" — running: {names}" if names else ""))
