// The review queue: one drawing at a time, labelled from the keyboard or the buttons under it (a phone has
// no keys), every label saved at once.
import { csrfToken } from "../api.js";
import { replay } from "./replay.js";

const root = document.getElementById("review-queue");
const urls = { next: root.dataset.nextUrl, queue: root.dataset.queueUrl };
const itemUrl = (id, action) => `${urls.queue}${id}/${action}`;
const el = (id) => document.getElementById(id);
const NOT_A_DIGIT = Number(root.dataset.notADigit);
const PEN_WIDTH = Number(root.dataset.penWidth);
// The next drawing is shown once its picture has come, or after this long without it, the previous
// picture taken away meanwhile.
const PICTURE_WAIT_MS = 5000;
// With nothing to show, how often the page asks again: the drawings counted as remaining are still being drawn
// or open with another reviewer, and the page said "nothing left" beside "3 remaining" until a reload.
const EMPTY_RECHECK_MS = 15000;
// This load of the page's own name, sent with every request: the leases it holds are its own, and the
// release a reloaded page sent as it left cannot let go of the drawing the new load took back.
const PAGE = Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0"))
  .join("");
const labelName = (label) => (label === null || label === undefined ? "–" : label === NOT_A_DIGIT ? "not a digit" : String(label));
// A share in percent as recognizer/templatetags/figures.py words it for the admin: never 100 where it is
// not (0.9996 read "100.0% sure"), nor 0.
function percent(share) {
  if (!Number.isFinite(share)) return String(share);
  // To nine places first: 100 * 0.55 is 55.00000000000001.
  const value = Number((100 * share).toFixed(9));
  if (value === Math.round(value)) return value.toFixed(0);
  if (value < 0.1) return "< 0.1";
  if (value > 99.9) return "> 99.9";
  return (Math.floor(10 * value + 0.5) / 10).toFixed(1);
}

const state = {
  item: null,          // the drawing shown
  arriving: null,      // the drawing given, leased to this page, until its picture has come and it is shown
  history: [],         // drawings labelled or skipped this session, newest last, for undo: { item, skipped }
  skipped: [],         // ids skipped this session: not offered again
  saves: [],           // labels not yet stored, oldest first; retried until they are
  saving: false,
  loading: false,
  undoWhenLoaded: false, // z pressed while the next drawing was loading
  keyNotTaken: false,  // a key refused while the next drawing loaded, said until a key is taken
  loadFailed: "",      // why the next drawing could not be loaded, until it is
  leaseFailed: "",     // why the drawing on show could not be kept, until a renewal succeeds
  notSaved: 0,         // labels refused this session (a 409 or a 404), said beside every later "Saved"
  lastRefusal: "",
  leaseTimer: null,
  emptyTimer: null,
  released: Promise.resolve(), // the last release of a drawing this page may ask for again, answered
  stopReplay: () => {},
};

async function post(url, body = {}, { keepalive = false } = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ ...body, page: PAGE }),
    credentials: "same-origin",
    keepalive,
    // Signed out, the server sends the sign-in page instead: followed, it would look like a success.
    redirect: "manual",
  });
  if (response.type === "opaqueredirect") {
    throw Object.assign(new Error("you are signed out: sign in again in another tab"), { status: 401 });
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(data.error || `the server answered ${response.status}`),
      { status: response.status, redrawn: data.redrawn === true });
  }
  return data;
}

function filters() {
  const form = el("queue-filters");
  return Object.fromEntries([...new FormData(form)].filter(([, value]) => value !== ""));
}

function showProgress(progress) {
  if (progress) el("queue-progress").textContent = `${progress.done} done, ${progress.remaining} remaining`;
}

function showStatus(message, kind = "") {
  const status = el("queue-status");
  status.textContent = message;
  status.className = `queue-status ${kind}`;
}

function renewLease() {
  clearInterval(state.leaseTimer);
  state.leaseTimer = setInterval(keepLease, Math.max(5, Number(root.dataset.leaseSeconds) / 3) * 1000);
}

// A drawing another reviewer took or labelled once this page's lease ran out (a hidden tab's timers are
// slowed to a minute), or that its drawer deleted, cannot be labelled here: the queue goes on to the next.
function keepLease() {
  // While the next drawing loads, the one on show may be labelled already: kept, it was leased for a minute more.
  if (!state.item || state.loading) return;
  const { id, second_opinion: secondOpinion, revision } = state.item;
  post(itemUrl(id, "lease/"), { second_opinion: Boolean(secondOpinion), revision }).then((data) => {
    // Its drawer changed it since it was shown: it is shown as it is now, before a label is spent on the old one.
    if (state.leaseFailed && el("queue-status").textContent === state.leaseFailed) showStatus("", "");
    state.leaseFailed = "";
    if (data.item && state.item?.id === id && !state.loading) {
      show(data.item);
      showStatus("Its drawer changed this drawing: here it is as it is now.", "");
    }
  }, (error) => {
    if ((error.status === 409 || error.status === 404) && state.item?.id === id && !state.loading) {
      showStatus(`That drawing is gone from this page: ${error.message}. Here is the next.`, "error");
      loadNext();
    } else {
      state.leaseFailed = `The drawing could not be kept: ${error.message}`;
      showStatus(state.leaseFailed, "error");
    }
  });
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  // Back from signing in again in another tab: the labels kept are sent at once, not after the growing pause.
  state.retryNow?.();
  if (state.item) keepLease();
  else if (!state.loading) loadNext();
});

// The drawing on show and the page showing it, kept in the tab's session: a reload asks for it back (its
// release, sent as the page left, may come in after the reloaded page asks, which was given another
// drawing). A tab duplicated, or opened from this one, starts with a copy of the session while this page
// is still open: it asks only where the page that showed the drawing has left, or both labelled it.
const SHOWN_KEY = "review-queue-shown";
const LEFT_KEY = "review-queue-left";

function remember(id) {
  try {
    if (id) sessionStorage.setItem(SHOWN_KEY, JSON.stringify({ id, page: PAGE }));
    else sessionStorage.removeItem(SHOWN_KEY);
  } catch {
    // A browser that keeps no session storage: a reload may show another drawing.
  }
}

// { id, page }: the drawing to ask back, and the page that showed it; the server gives it back only where no
// other page holds it since (a tab opened from the queue's page after it left, and that page come back).
function remembered() {
  try {
    const shown = JSON.parse(sessionStorage.getItem(SHOWN_KEY));
    return shown && shown.page === sessionStorage.getItem(LEFT_KEY) ? shown : null;
  } catch {
    return null;
  }
}

// `page`: this page leaving, or null: come back to, it has not left.
function leaving(page = PAGE) {
  try {
    if (page) sessionStorage.setItem(LEFT_KEY, page); else sessionStorage.removeItem(LEFT_KEY);
  } catch {
    // As in `remember`.
  }
}

// The label buttons are for a drawing on show; Skip and Undo are always there (with nothing on show, Skip looks
// again, as s does).
function enableLabels(enabled) {
  for (const button of el("queue-actions").querySelectorAll("[data-label]")) button.disabled = !enabled;
}

// Nothing on show, and nothing to label, while the next drawing cannot be loaded.
function hide() {
  enableLabels(false);
  el("item-announcement").textContent = "";
  state.item = null;
  remember(null);
  state.stopReplay();
  el("queue-item").hidden = true;
  el("queue-item").dataset.predictionId = "";
}

// The drawing, or with none left, the queue's end.
function show(item) {
  el("queue-empty").hidden = Boolean(item);
  if (!item) {
    hide();
    return;
  }
  state.item = item;
  enableLabels(true);
  remember(item.id);
  state.stopReplay();
  const card = el("queue-item");
  card.hidden = false;
  card.dataset.predictionId = item.id;
  // Taken away first: a browser keeps showing the previous picture until the new one has come.
  el("item-drawing").removeAttribute("src");
  el("item-drawing").src = item.image_url;
  el("item-input").src = item.input;
  el("item-saliency").style.setProperty("--saliency", `url("${itemUrl(item.id, "saliency.png")}")`);
  el("item-answer").textContent = labelName(item.digit === null ? NOT_A_DIGIT : item.digit); // null: "not a digit"
  el("item-confidence").textContent = `(${percent(item.confidence)}% sure)`;
  // Its top 3 are the digits it would be, their probabilities shared among the digits alone: beside
  // "not a digit" at 100 %, "4: 66.6%" read as a confident guess.
  el("item-top3-title").textContent = item.digit === null ? "If a digit" : "Top 3";
  el("item-reported").textContent = labelName(item.reported_label);
  el("item-tier").textContent = item.second_opinion ? "second opinion" : item.tier;
  el("item-meta").textContent = `${item.model_version} · ${item.source} · ${new Date(item.created_at).toLocaleString()}`;
  el("item-announcement").textContent = announcement(item);
  el("item-top3").replaceChildren(...item.top3.map(({ digit, probability }) => {
    const entry = document.createElement("li");
    entry.textContent = `${digit}: ${percent(probability)}%`;
    return entry;
  }));
  const strokes = el("item-strokes");
  strokes.hidden = !item.strokes;
  el("replay-button").hidden = !item.strokes;
  if (item.strokes) state.stopReplay = replay(strokes, item.strokes, { penWidth: PEN_WIDTH, speed: 2 });
  renewLease();
}

function recheck() {
  if (state.item || state.loading) return;
  // A hidden tab asks again once it is looked at (`visibilitychange`). The counts are costly on PostgreSQL,
  // and an idle tab asked for them four times a minute: a label's answer brings them.
  if (document.visibilityState === "visible") loadNext({ progress: false });
}

// After a label, the label's answer brings the counts, and they are not asked for twice. `labelled`: the
// drawing just labelled, never the next: its label may be stored after the next is chosen, and where its
// lease was let go meanwhile (an undone skip's release come in late), it was chosen again.
async function loadNext({ progress = true, resume = null, labelled = null } = {}) {
  state.loading = true;
  // Keys are not taken meanwhile: said, and shown by the card fading once the wait is long enough to see.
  el("queue-item").setAttribute("aria-busy", "true");
  try {
    // Asked back, the drawing is this page's from now: left before the answer came (a second reload), the
    // page that loads next asks for it as this page's, which the server leased it to.
    if (resume) remember(resume.id);
    // First: the server reads the first thousand ids sent.
    const exclude = labelled ? [labelled, ...state.skipped] : state.skipped;
    const data = await post(urls.next, { ...filters(), exclude, progress, resume: resume?.id,
      shown_by: resume?.page });
    // The keys wait for the picture: shown before it, the next drawing's facts stood beside the last
    // one's picture, and a key labelled a drawing its reviewer had not seen.
    state.arriving = data.item;
    if (data.item) await pictureLoaded(data.item.image_url);
    if (state.loadFailed) showStatus("", "");
    state.loadFailed = "";
    show(data.item);
    showProgress(data.progress);
  } catch (error) {
    // The drawing just labelled is not left on show, where the next key would label it again unseen.
    if (state.history.at(-1)?.item === state.item) hide();
    state.loadFailed = `The next drawing could not be loaded: ${error.message}. Press s to try again.`;
    showStatus(state.loadFailed, "error");
  } finally {
    state.arriving = null;
    state.loading = false;
    el("queue-item").removeAttribute("aria-busy");
    clearTimeout(state.emptyTimer);
    // A load that failed with nothing on show is asked again too: the page says it looks again.
    if (!state.item) state.emptyTimer = setTimeout(recheck, EMPTY_RECHECK_MS);
  }
  if (state.undoWhenLoaded) {
    state.undoWhenLoaded = false;
    undo();
  }
}

function pictureLoaded(url) {
  const picture = new Image();
  picture.src = url;
  return Promise.race([picture.decode().catch(() => {}), new Promise((resolve) => setTimeout(resolve, PICTURE_WAIT_MS))]);
}

// A refused label is said until the next is saved, and then beside it: at a label a second, "Not
// saved" gave way to the next "Saved" before it could be read.
function refusals() {
  if (!state.notSaved) return "";
  return ` ${state.notSaved} label${state.notSaved === 1 ? "" : "s"} not saved here; the last: ${state.lastRefusal}.`;
}

// Labels are stored one after another, in the order given; a failed one is shown and retried, never dropped.
async function flushSaves() {
  if (state.saving) return;
  state.saving = true;
  let delay = 500;
  while (state.saves.length) {
    const save = state.saves[0];
    try {
      const data = await post(itemUrl(save.id, "label/"), { label: save.label, revision: save.revision, ...filters() });
      state.saves.shift();
      delay = 500;
      showProgress(data.progress);
      // An undo answers with the drawing as it is now: its drawer may have changed it since it was shown.
      if (save.label === null && data.item && state.item?.id === data.item.id) show(data.item);
      if (state.loadFailed) showStatus(state.loadFailed, "error");
      // Said again: the label before it, stored after the key was refused, put "Saved" in its place.
      else if (state.keyNotTaken) notTaken();
      else if (state.saves.length) showStatus(`Saving ${state.saves.length}…${refusals()}`, "saved");
      // Said of the drawing on show, and staying: skipped since (the next on its way), the next stood beside
      // "Label it again".
      else if (save.label === null) {
        if (state.item?.id === save.id && !state.loading) showStatus(undone(save), "saved");
      }
      // In the saved tone: the refusal was said in red as it came, and red, every later "Saved" read as a failure.
      else showStatus(`Saved: ${labelName(save.label)}.${refusals()}`, "saved");
    } catch (error) {
      if (error.status === 409 || error.status === 404 || error.status === 400) {
        state.saves.shift();
        state.notSaved += 1;
        state.lastRefusal = error.message;
        // Undone, a drawing deleted or labelled by another reviewer came back only to refuse its label
        // again; one its drawer changed comes back as it is now, to be labelled.
        if (save.label !== null && !error.redrawn) forget(save.id);
        showStatus(`Not saved: ${error.message}.`, "error");
        continue;
      }
      showStatus(`Saving failed (${error.message}); retrying — ${state.saves.length} label(s) kept.`, "error");
      await new Promise((resolve) => {
        state.retryNow = resolve;
        setTimeout(resolve, delay);
      });
      state.retryNow = null;
      delay = Math.min(delay * 2, 10000);
    }
  }
  state.saving = false;
}

function forget(id) {
  const index = state.history.findLastIndex((entry) => entry.item.id === id && !entry.skipped);
  if (index >= 0) state.history.splice(index, 1);
}

// A key pressed while the next drawing loads is not taken (it would label a drawing its reviewer has not
// seen): said, since the card fades only once the wait is long enough to see, and fast keys were lost unseen.
function notTaken() {
  state.keyNotTaken = true;
  showStatus("Not taken: the next drawing is still on its way. Press the key again once it shows.", "error");
}

function setLabel(label) {
  if (state.loading) {
    notTaken();
    return;
  }
  if (!state.item) return;
  state.keyNotTaken = false;
  state.history.push({ item: state.item, skipped: false });
  state.saves.push({ id: state.item.id, label, revision: state.item.revision });
  flushSaves();
  loadNext({ progress: false, labelled: state.item.id });
}

// A drawing this page may take again (an undone skip, a page come back to with Back) is taken again once its
// release is answered: come in after, the release let the drawing go, and, labelled, it came back as the next
// drawing, or another tab was given it.
function releaseShown({ keepalive = false } = {}) {
  state.released = release(state.item.id, { keepalive });
}

// Let the drawing go, answered or not: a lease not let go runs out in a minute all the same.
function release(id, { keepalive = false } = {}) {
  return post(itemUrl(id, "release/"), {}, { keepalive }).catch(() => {});
}

function skip() {
  if (state.loading) {
    notTaken();
    return;
  }
  state.keyNotTaken = false;
  if (state.item) {
    state.skipped.push(state.item.id);
    state.history.push({ item: state.item, skipped: true });
    releaseShown();
    // A word about the drawing skipped ("Undone: … label it again") stood beside the next.
    showStatus("Skipped: left for another reviewer. z brings it back.", "");
  }
  loadNext();
}

function undo() {
  if (!state.history.length) return;
  // "A wrong digit, then z at once" is what undo is for: pressed while the next drawing loads, it waits for it.
  if (state.loading) {
    state.undoWhenLoaded = true;
    return;
  }
  state.keyNotTaken = false;
  const { item: previous, skipped } = state.history.pop();
  if (state.item) release(state.item.id);
  // A drawing is on show again: "press s to try again" would now skip it.
  state.loadFailed = "";
  if (skipped) {
    // A skip by mistake lost the drawing until a reload. Its lease is taken again: where another reviewer
    // took or labelled it meanwhile, the queue goes on to the next (`keepLease`).
    state.skipped = state.skipped.filter((id) => id !== previous.id);
    show(previous);
    showStatus("Skip undone: here is the drawing again.", "saved");
    state.released.then(keepLease);
    return;
  }
  const save = { id: previous.id, label: null, secondOpinion: Boolean(previous.second_opinion) };
  state.saves.push(save);
  flushSaves();
  show(previous);
  showStatus(undone(save), "saved");
}

// Undone, a second opinion is taken back and the first label stays: "the label is cleared" said otherwise.
function undone(save) {
  return save.secondOpinion ? "Undone: your second opinion is taken back; the first label stays. Give it again."
    : "Undone: the label of this drawing is cleared. Label it again.";
}

// Said by a screen reader as each drawing comes: only "Saved: 7." was, and its reviewer went looking for the
// model's answer after every label.
function announcement(item) {
  const answer = labelName(item.digit === null ? NOT_A_DIGIT : item.digit);
  const drawer = item.reported_label === null ? "the drawer gave no label" : `the drawer says ${labelName(item.reported_label)}`;
  const why = item.second_opinion ? "a second opinion" : item.tier;
  return `Next drawing: the model says ${answer}, ${percent(item.confidence)}% sure; ${drawer}; here as ${why}.`;
}

// Most answers are right: Enter labels the drawing on show with the model's answer, the hand kept where it is.
function acceptAnswer() {
  setLabel(state.item?.digit ?? NOT_A_DIGIT);   // a null digit: answered "not a digit"
}

function toggleHelp(open = el("queue-help").hidden) {
  el("queue-help").hidden = !open;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, textarea")) return;
  // On a filter the queue's keys still label: a select clicked and closed again keeps the focus, and a
  // digit chose another filter where its reviewer meant a label. Its arrows choose a filter.
  if (event.target.closest("select") && event.key.startsWith("Arrow")) return;
  // A key held down repeats: one press is one label, not one for each drawing that loads while it is held.
  if (event.repeat) {
    event.preventDefault();
    return;
  }
  const { key } = event;
  if (/^[0-9]$/.test(key)) setLabel(Number(key));
  else if (key === "x" || key === "X") setLabel(NOT_A_DIGIT);
  // On a button, link or filter, Enter is that control's own.
  else if (key === "Enter" && !event.target.closest("button, a, select")) acceptAnswer();
  else if (key === "s" || key === "S" || key === "ArrowRight") skip();
  else if (key === "z" || key === "Z" || key === "Backspace") undo();
  else if (key === "?") toggleHelp();
  else if (key === "Escape") toggleHelp(false);
  else return;
  event.preventDefault();
});

el("queue-filters").addEventListener("change", (event) => {
  // Left on the select, the keys would change the filter rather than label the drawings it chose.
  event.target.blur();
  if (state.item) release(state.item.id);
  state.skipped = [];
  loadNext();
});
el("replay-button").addEventListener("click", () => {
  state.stopReplay();
  if (state.item && state.item.strokes) {
    state.stopReplay = replay(el("item-strokes"), state.item.strokes, { penWidth: PEN_WIDTH, speed: 2 });
  }
});
el("help-button").addEventListener("click", () => toggleHelp());
el("queue-actions").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  // Clicked (not pressed from the keyboard, whose clicks count no detail), a button left focused took the next
  // Enter or Space as its own: a reviewer accepting the next answer with Enter labelled it with the digit clicked.
  if (event.detail > 0) button.blur();
  if (button.dataset.label !== undefined) setLabel(Number(button.dataset.label));
  else if (button.dataset.action === "skip") skip();
  else undo();
});
window.addEventListener("beforeunload", (event) => {
  if (state.saves.length) event.preventDefault();
});
// Leaving the page (a reload, the tab closed) gives its drawing back at once: held until its lease ran
// out, it was offered to nobody, its own reviewer after a reload included.
window.addEventListener("pagehide", () => {
  leaving();
  if (state.item) releaseShown({ keepalive: true });
  // Left before its picture came, it was leased to no page for a minute, offered to nobody.
  if (state.arriving) release(state.arriving.id, { keepalive: true });
});
// Come back to with the browser's Back, the page had let its drawing go as it left: it asks for it again,
// as a reloaded page does, and where another of the reviewer's pages took it meanwhile, shows the next.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  // Back, the page has not left: a tab opened from it now must not ask for its drawing as a reload would.
  leaving(null);
  if (state.item && !state.loading) {
    const shown = state.item.id;
    state.released.then(() => loadNext({ resume: { id: shown, page: PAGE } }));
  }
});

loadNext({ resume: remembered() });
