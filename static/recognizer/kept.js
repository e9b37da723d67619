// The records this tab made, with their owners' secrets, in the tab's session storage: a drawing cleared,
// or left on show by a reload, can still be deleted from the page that made it, as the page promises. The
// storage goes with the tab; where the browser refuses it (storage off, or full), the list lives as long as
// the page does.
//
// And the drawings sent to make a record whose answer has not come, with the key they went under: the page
// left before it came (a reload on a slow server), the record was made all the same, and nobody could delete
// it. The page that loads next sends each again under its key, which answers the record it made (`unanswered`).

const KEY = "recognizer.kept";
const UNANSWERED_KEY = "recognizer.unanswered";

export class KeptRecords {
  constructor(storage) {
    this.storage = storage;
    this.records = this.#read(KEY).filter((kept) => typeof kept?.id === "string" && typeof kept.secret === "string");
    this.unanswered = this.#read(UNANSWERED_KEY).filter((sent) => typeof sent?.idempotencyKey === "string"
      && typeof sent.source === "string" && Array.isArray(sent.strokes));
  }

  add({ id, secret, idempotencyKey }) {
    this.answered({ idempotencyKey });
    if (id !== null && secret && !this.records.some((kept) => kept.id === id)) {
      this.records.push({ id, secret });
      this.#write(KEY, this.records);
    }
  }

  // Strokes sent to make a record under `idempotencyKey`; only the latest sent under a key is kept.
  sent(idempotencyKey, source, strokes) {
    this.unanswered = [...this.unanswered.filter((sent) => sent.idempotencyKey !== idempotencyKey),
      { idempotencyKey, source, strokes }];
    this.#write(UNANSWERED_KEY, this.unanswered);
  }

  // The record made under the key is known, or none will be.
  answered({ idempotencyKey }) {
    if (this.unanswered.some((sent) => sent.idempotencyKey === idempotencyKey)) {
      this.unanswered = this.unanswered.filter((sent) => sent.idempotencyKey !== idempotencyKey);
      this.#write(UNANSWERED_KEY, this.unanswered);
    }
  }

  forget({ id }) {
    this.records = this.records.filter((kept) => kept.id !== id);
    this.#write(KEY, this.records);
  }

  // The records kept but those `left` out (the one on show, those being deleted).
  except(left) {
    const ids = new Set(left.map((record) => record?.id));
    return this.records.filter((kept) => !ids.has(kept.id));
  }

  #read(key) {
    try {
      const stored = JSON.parse(this.storage?.getItem(key) ?? "[]");
      return Array.isArray(stored) ? stored : [];
    } catch {
      return [];
    }
  }

  #write(key, list) {
    try {
      this.storage?.setItem(key, JSON.stringify(list));
    } catch {
      // Refused: the list stays this page's own.
    }
  }
}
