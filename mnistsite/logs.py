"""What the site's log keeps of a request a stranger shaped."""

import logging
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


class TracebackOncePerMinute(logging.Filter):
    """Keeps a record's traceback where none of its kind (its logger, message and exception's class) was kept
    in the last TRACEBACK_EVERY seconds; otherwise its line alone, with the exception's own words.

    While the database or the drawings' storage is down, every request fails the same way, and a public
    /healthz probed from one connection wrote a traceback of 4 KB each time: 6 GB of log an hour, with
    nothing to stop it (the rate limits are counted in the database that is down)."""

    TRACEBACK_EVERY = 60.0
    # Kinds come from the code's own messages; a message built from a request's words would make a kind
    # of each, so the memory of kinds is bounded.
    MOST_KINDS = 1000

    def __init__(self):
        super().__init__()
        self.kept_at: dict[tuple, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        kind = (record.name, str(record.msg), record.exc_info[0])
        now = time.monotonic()
        if now - self.kept_at.get(kind, -self.TRACEBACK_EVERY) >= self.TRACEBACK_EVERY:
            if len(self.kept_at) >= self.MOST_KINDS:
                self.kept_at.clear()
            self.kept_at[kind] = now
            return True
        exception = record.exc_info[1]
        record.msg = (f"{record.getMessage()} ({type(exception).__name__}: {exception}; its traceback was logged "
                      f"less than {self.TRACEBACK_EVERY:.0f} s ago)")
        record.args = ()
        record.exc_info = record.exc_text = None
        return True
