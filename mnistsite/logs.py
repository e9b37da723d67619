"""What the site's log keeps of a request a stranger shaped."""

import logging
import threading
import time

# Django's refusals of a request's shape (its SuspiciousOperation subclasses a request alone raises), each
# logged as django.security.<name>.
REQUEST_REFUSALS = ("TooManyFieldsSent", "TooManyFilesSent", "RequestDataTooBig", "SuspiciousMultipartForm")


class WithoutTraceback(logging.Filter):
    """Keeps a record's line and drops its traceback.

    Django logs every request it refuses as suspicious (too many fields or files, a body too large, a
    malformed multipart form) with the traceback of the refusal: 55 lines for a GET anyone can send
    without limit, about 1.5 GB of log an hour from one connection. The 400 answers it; the line says
    which refusal it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


class TracebackOncePerMinute(logging.Formatter):
    """Writes a record's traceback where none of its kind (its logger, message, exception's class and the line
    that raised it) was written in the last TRACEBACK_EVERY seconds; otherwise its line alone, with the
    exception's own words. A formatter, not a filter: the record other handlers see keeps its traceback.

    While the database or the drawings' storage is down, every request fails the same way, and a public
    /healthz probed from one connection wrote a traceback of 4 KB each time: 6 GB of log an hour, with
    nothing to stop it (the rate limits are counted in the database that is down)."""

    TRACEBACK_EVERY = 60.0
    # Kinds come from the code's own messages; a message built from a request's words would make a kind
    # of each, so the memory of kinds is bounded.
    MOST_KINDS = 1000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.written_at: dict[tuple, float] = {}
        self.lock = threading.Lock()

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info or record.exc_info[1] is None:
            return super().format(record)
        exception = record.exc_info[1]
        raised = record.exc_info[2]
        while raised is not None and raised.tb_next is not None:
            raised = raised.tb_next
        where = (raised.tb_frame.f_code.co_filename, raised.tb_lineno) if raised is not None else None
        kind = (record.name, str(record.msg), type(exception), where)
        now = time.monotonic()
        with self.lock:
            due = now - self.written_at.get(kind, -self.TRACEBACK_EVERY) >= self.TRACEBACK_EVERY
            if due:
                if len(self.written_at) >= self.MOST_KINDS:
                    self.written_at.clear()
                self.written_at[kind] = now
        if due:
            return super().format(record)
        line = record.getMessage()
        said = type(exception).__name__ if str(exception) in line else f"{type(exception).__name__}: {exception}"
        alone = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "args": (),
                                       "msg": f"{line} ({said}; its traceback was written less than "
                                              f"{self.TRACEBACK_EVERY:.0f} s ago)"})
        return super().format(alone)
