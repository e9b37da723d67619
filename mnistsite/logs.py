"""What the site's log keeps of a request a stranger shaped."""

import logging

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
