// The prediction API's client. Every failure becomes an Error whose message a person can read.

function csrfToken() {
  const cookie = document.cookie.split("; ").find((item) => item.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export class PredictionsApi {
  constructor(url) {
    this.url = url;
  }

  // A new record: `drawing` is either strokes (sent as JSON) or a File (sent as a multipart upload).
  create(drawing, source) {
    if (drawing instanceof Blob) {
      const form = new FormData();
      form.append("image", drawing);
      form.append("source", source);
      return this.#request("POST", this.url, null, form);
    }
    return this.#request("POST", this.url, null, { strokes: drawing, source });
  }

  // The whole drawing as it is now, in place of the record's older version.
  update(record, strokes) {
    return this.#request("PUT", `${this.url}${record.id}/`, record.secret, { strokes });
  }

  remove(record) {
    return this.#request("DELETE", `${this.url}${record.id}/`, record.secret);
  }

  feedback(record, label) {
    return this.#request("POST", `${this.url}${record.id}/feedback/`, record.secret, { label });
  }

  async #request(method, url, secret, body) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    if (secret) {
      headers["X-Drawing-Secret"] = secret;
    }
    const isForm = body instanceof FormData;
    if (body && !isForm) {
      headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body && (isForm ? body : JSON.stringify(body)),
        credentials: "same-origin",
      });
    } catch {
      throw new Error("The server could not be reached. Check your connection and try again.");
    }
    const answer = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const reason = answer && answer.error ? answer.error : `the server answered ${response.status} ${response.statusText}`;
      throw new Error(capitalised(reason));
    }
    return answer;
  }
}
