// The records this tab made, with their owners' secrets, in the tab's session storage: a drawing cleared,
// or left on show by a reload, can still be deleted from the page that made it, as the page promises. The
// storage goes with the tab; where the browser refuses it (storage off, or full), the list lives as long as
// the page does.

const KEY = "recognizer.kept";

export class KeptRecords {
  constructor(storage) {
    this.storage = storage;
    this.records = this.#read();
  }

  add({ id, secret }) {
    if (id !== null && secret && !this.records.some((kept) => kept.id === id)) {
      this.records.push({ id, secret });
      this.#write();
    }
  }

  forget({ id }) {
    this.records = this.records.filter((kept) => kept.id !== id);
    this.#write();
  }

  // The records kept but those `left` out (the one on show, those being deleted).
  except(left) {
    const ids = new Set(left.map((record) => record?.id));
    return this.records.filter((kept) => !ids.has(kept.id));
  }

  #read() {
    try {
      const records = JSON.parse(this.storage?.getItem(KEY) ?? "[]");
      return Array.isArray(records)
        ? records.filter((kept) => typeof kept?.id === "string" && typeof kept.secret === "string") : [];
    } catch {
      return [];
    }
  }

  #write() {
    try {
      this.storage?.setItem(KEY, JSON.stringify(this.records));
    } catch {
      // Refused: the list stays this page's own.
    }
  }
}
