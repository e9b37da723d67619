// The prediction API's client. Every failure becomes an Error whose message a person can read.

// The server stores nothing later than 25 s after nginx passed it a request, and nginx stops waiting
// at 30 s: past that no answer is coming, and a drawing's later versions wait behind this request.
const ANSWER_TIMEOUT_MS = 30_000;
// nginx starts that clock once the whole body has come, and a slow phone connection (256 kbit/s)
// takes a few seconds to send a drawing's strokes and minutes to send a photo.
const SLOW_UPLOAD_BYTES_PER_MS = 32;

// Read at each request: signing in again (in another tab, once a session ran out) sets a new one.
export function csrfToken() {
  const cookie = document.cookie.split("; ").find((item) => item.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

function bytesIn(payload) {
  if (payload instanceof FormData) {
    return [...payload.values()].reduce((bytes, value) => bytes + (value instanceof Blob ? value.size : value.length), 0);
  }
  return payload ? payload.length : 0;
}

// Safari before 16 has no AbortSignal.timeout: there a request waits as long as the browser lets it,
// rather than failing at once.
function deadline(milliseconds) {
  return typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(milliseconds) : undefined;
}

function ownedBy(record) {
  return record.secret ? { "X-Drawing-Secret": record.secret } : {};
}

// The API's messages are clauses ("too many requests …; try again in 2 hours"); the page shows sentences.
function sentence(text) {
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

export class PredictionsApi {
  constructor(url) {
    this.url = url;
  }

  // A new record: `drawing` is either strokes (sent as JSON) or a File (sent as a multipart upload).
  // The same `idempotencyKey` with each try makes one record, however many tries reach the server.
  create(drawing, source, idempotencyKey) {
    const headers = { "Idempotency-Key": idempotencyKey };
    if (drawing instanceof Blob) {
      const form = new FormData();
      form.append("image", drawing);
      form.append("source", source);
      return this.#request("POST", this.url, headers, form);
    }
    return this.#request("POST", this.url, headers, { strokes: drawing, source });
  }

  // The whole drawing as it is now, in place of the record's older version.
  update(record, strokes) {
    return this.#request("PUT", `${this.url}${record.id}/`, ownedBy(record), { strokes });
  }

  remove(record) {
    return this.#request("DELETE", `${this.url}${record.id}/`, ownedBy(record));
  }

  // The label is for the drawing's `revision` the answer was given for: refused (409) once it changed.
  feedback(record, label, revision) {
    return this.#request("POST", `${this.url}${record.id}/feedback/`, ownedBy(record), { label, revision });
  }

  async #request(method, url, extraHeaders, body) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken(), ...extraHeaders };
    const isForm = body instanceof FormData;
    if (body && !isForm) {
      headers["Content-Type"] = "application/json";
    }
    const payload = body && (isForm ? body : JSON.stringify(body));
    let response;
    let answer;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: payload,
        credentials: "same-origin",
        signal: deadline(ANSWER_TIMEOUT_MS + bytesIn(payload) / SLOW_UPLOAD_BYTES_PER_MS),
      });
      // A body that is not JSON (a proxy's HTML error page) leaves the status to speak for itself.
      answer = response.status === 204 ? null : await response.json().catch((error) => {
        if (error instanceof SyntaxError) {
          return null;
        }
        throw error;
      });
    } catch (error) {
      throw new Error(error.name === "TimeoutError"
        ? "The server took too long to answer. Check your connection and try again."
        : "The server could not be reached. Check your connection and try again.");
    }
    if (!response.ok) {
      // A proxy's own error page says nothing a person can act on.
      const reason = answer && answer.error ? answer.error
        : `the site could not answer (${`${response.status} ${response.statusText}`.trim()}). Nothing is lost: `
          + "try again in a moment";
      // Retry-After is in seconds: a throttle's answer says how long to wait.
      const retryAfter = Number(response.headers.get("Retry-After")) || null;
      throw Object.assign(new Error(sentence(reason)), { status: response.status, retryAfter });
    }
    return answer;
  }
}
