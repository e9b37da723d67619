// One drawing, one record. The first answer creates the record; every later version of the drawing
// updates that same record. Requests for one drawing go one at a time, and only the newest version
// waiting is sent next, so the server always ends with the latest drawing and never stores an older
// one over a newer. The owner's secret lives here, in memory, and goes when the record is dropped.
//
// Until the record exists, every request sent for it carries the same random key: a request whose
// answer was lost (a timeout, a dropped connection) may have created the record all the same, and
// sent again with its key it finds that record instead of making a second one that nobody could delete.

// 128 random bits in hex: crypto.randomUUID exists only on HTTPS pages, getRandomValues everywhere.
function newIdempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export class DrawingRecord {
  // onAnswer(answer, tag) and onError(error, tag) receive the `tag` given with what was sent; onCreating(record,
  // drawing) hears of each drawing sent to make the record, onCreated(record) of the record once the server made
  // it, shown or not, and onGone({ id }) of one deleted meanwhile.
  constructor(api, source, { onAnswer, onError, onCreating = () => {}, onCreated = () => {}, onGone = () => {} }) {
    this.api = api;
    this.source = source;
    this.callbacks = { onAnswer, onError, onCreating, onCreated, onGone };
    this.id = null;
    this.secret = null;
    this.idempotencyKey = newIdempotencyKey();
    this.waiting = null;
    this.sending = null;
    this.closed = false;
  }

  // Sends the drawing (strokes, or a photo's File) as soon as the request before it is answered.
  save(drawing, tag) {
    if (this.closed) {
      return;
    }
    this.waiting = { drawing, tag };
    this.sending ??= this.#sendWaiting();
  }

  // The drawing is no longer shown: nothing more is sent or reported.
  close() {
    this.closed = true;
    this.waiting = null;
  }

  // Closes the record, and deletes it once any request already under way is answered.
  async remove() {
    this.close();
    await this.sending;
    if (this.id !== null) {
      await this.api.remove(this);
    }
  }

  async #sendWaiting() {
    while (this.waiting && !this.closed) {
      const { drawing, tag } = this.waiting;
      this.waiting = null;
      try {
        if (this.id === null) {
          this.callbacks.onCreating(this, drawing);
        }
        const answer = this.id === null
          ? await this.api.create(drawing, this.source, this.idempotencyKey)
          : await this.api.update(this, drawing);
        if (this.id === null) {
          this.id = answer.id;
          this.secret = answer.secret ?? null;
          this.callbacks.onCreated(this);
        }
        if (!this.closed) {
          this.callbacks.onAnswer(answer, tag);
        }
      } catch (error) {
        if (error.status === 404 && this.id !== null) {
          // Deleted while it was drawn on (from another tab of the page, by staff): every later version was
          // refused with "No Prediction matches the given query". The drawing on show makes a record anew.
          this.callbacks.onGone({ id: this.id });
          this.id = null;
          this.secret = null;
          this.idempotencyKey = newIdempotencyKey();
          this.waiting ??= { drawing, tag };
        } else if (!this.closed) {
          this.callbacks.onError(error, tag);
        }
      }
    }
    this.sending = null;
  }
}
