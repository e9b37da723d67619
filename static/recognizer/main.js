// The drawing page: a drawing lasts from its first stroke until the canvas is emptied, and has one
// record on the server, updated as soon as the pen lifts. A photo is a record of its own, and takes
// the drawing's place only once it has an answer: a photo that fails leaves the drawing as it was.

import { PredictionsApi } from "./api.js";
import { KeptRecords } from "./kept.js";
import { photoToSend } from "./photo.js";
import { DrawingRecord } from "./record.js";
import { ResultView } from "./result.js";
import { Pad } from "./strokes.js";

const root = document.getElementById("recognizer");
const api = new PredictionsApi(root.dataset.predictionsUrl);
const padArea = root.querySelector(".pad");
const canvas = document.getElementById("pad-canvas");
const undoButton = document.getElementById("undo-button");
const clearButton = document.getElementById("clear-button");
const predictButton = document.getElementById("predict-button");
const photoInput = document.getElementById("photo-input");
const deleteKeptButton = document.getElementById("delete-kept-button");
const keptMessage = document.getElementById("kept-message");
const padPhoto = padArea.querySelector(".pad-photo");
const maxImageBytes = Number(root.dataset.maxImageBytes);
const minImageSide = Number(root.dataset.minImageSide);
// An answer usually comes within a fraction of a second, and replaces the last one without a word in
// between; one that takes longer than this is said to be on its way.
const SLOW_ANSWER_MS = 1000;
// A deletion that failed once the person had gone on to a new drawing is tried again, in the
// background, this long after, and twice as long after each failure.
const DELETE_RETRY_MS = 2000;
const DELETE_RETRY_MAX_MS = 60000;
const BACK_ONLINE_MS = 1000;
const BACK_ONLINE_TRIES = 4;
// A refusal for too many requests in a minute, or a server busy for a moment (a 503 that says how long), is
// waited out, and the drawing or photo sent again; a longer wait (the day's drawings spent) is left to the person.
const RESEND_AFTER_MAX_S = 120;
// Said as a stroke stops drawing, and again with the answer, which came after and took the status's place.
const FULL_MESSAGE = "This drawing is as long as one can be: undo or clear to go on.";

// The record of the drawing or photo on show, what it was last sent for (the pad's version, or the photo),
// and what the answer on show was given for.
let record = null;
let latestTag = null;
let failedTag = null;
let shownTag = null;
// The resend a refusal's Retry-After asked for: any later send replaces it, so that it never sends a drawing
// the refusal was not for.
let resendTimer = null;
// The record of a photo being read, until its answer puts it on show; an answer that came while a stroke
// was being drawn waits for the stroke's end (it sets the photo aside) or its being taken back (it does not).
let pendingPhoto = null;
let pendingPhotoAnswer = null;
// A photo whose upload failed, with its record: chosen again, the same file goes under the same key, so
// that an upload whose answer was lost finds the record it made instead of making a second nobody holds.
let failedPhoto = null;
// ...and where it failed for want of a connection or of a server, not for itself: sent again once the
// connection is back, or by Predict, until a stroke is drawn (it had to be chosen again).
let photoToResend = null;
// The tries left to send a failed drawing or photo again since the connection came back, and the next one's timer.
let backOnlineTriesLeft = 0;
let backOnlineTimer;
// Records the person asked to delete whose deletion is still being tried.
const deletions = new Set();
// Every record this tab made and has not deleted, with its secret: those no longer on show are deleted
// from the page's foot. Some browsers refuse session storage altogether.
const kept = new KeptRecords((() => {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
})());
// The photo on show when a stroke began over it, with its answer: the drawing goes over it, and emptying
// the drawing (Undo, Clear) shows the photo again, deletable, since its secret lives only here.
let photoUnder = null;

const result = new ResultView(root.querySelector(".results"), root.querySelector(".answer-line"), {
  onFeedback: sendFeedback, onDelete: deleteDrawing,
});

const pad = new Pad(canvas, {
  maxStrokes: Number(root.dataset.maxStrokes),
  maxPoints: Number(root.dataset.maxPoints),
  maxTime: Number(root.dataset.maxTimeMs),
  offCanvas: Number(root.dataset.offCanvas),
  penWidth: Number(root.dataset.penWidth),
  pointerTypes: root.dataset.pointerTypes.split(" "),
  onStrokeStart: () => {
    if (pad.isEmpty) {
      if (record?.source === "upload") {
        photoUnder = { photo: record, answer: result.answer };
        record = null;
      }
      hidePhoto();
      startRecord("canvas");
      showKept();
    }
  },
  onStrokeEnd: strokeEnded,
  onStrokeDropped: strokeDropped,
  onChange: drawingChanged,
  onFull: () => result.showError(FULL_MESSAGE),
});

function startRecord(source) {
  record?.close();
  record = new DrawingRecord(api, source, {
    onAnswer: showAnswer, onError: showError, onCreating: keepUntilAnswered, onCreated: keep, onGone: gone,
  });
}

// A photo set aside before its answer came is deleted once it has one: stored, it would stay on the server
// with a secret that only this page held, and the person never saw it read.
function dropPendingPhoto() {
  if (pendingPhoto) {
    removed(pendingPhoto).catch(() => {});
  }
  pendingPhoto = null;
  pendingPhotoAnswer = null;
}

// The person went on with the drawing while a photo was read: the photo does not take its place.
function setPhotoAside() {
  if (pendingPhoto) {
    dropPendingPhoto();
    result.showStatus("The photo was set aside and deleted: you went on drawing.", "idle");
  }
}

// A stroke was drawn: the drawing goes on, in place of a photo being read or one not sent.
function strokeEnded() {
  setPhotoAside();
  photoToResend = null;
  send();
}

function endRecord() {
  record?.close();
  record = null;
  latestTag = null;
  shownTag = null;
  showKept();
}

function keep(made) {
  kept.add(made);
  showKept();
}

// A photo is too large for the tab's storage: only strokes are kept until their record is known.
function keepUntilAnswered(made, drawing) {
  if (Array.isArray(drawing)) {
    kept.sent(made.idempotencyKey, made.source, drawing);
  }
}

// Drawings the page sent before it was left (a reload, the tab closed and reopened), whose answers never came:
// sent again under their keys, each answers the record it made, or makes it, kept from then on to be deleted
// from the page's foot. One refused for itself is dropped; one that met no server, or too many requests, is tried
// at the next load.
async function keepUnanswered() {
  for (const sent of kept.unanswered) {
    try {
      const answer = await api.create(sent.strokes, sent.source, sent.idempotencyKey);
      kept.add({ ...answer, idempotencyKey: sent.idempotencyKey });
    } catch (error) {
      if (!isPassing(error) && error.status !== 429) {
        kept.answered(sent);
      }
    }
  }
  showKept();
}

// A record deleted: its secret is forgotten.
function gone(deleted) {
  kept.forget(deleted);
  showKept();
}

// Deletes the record on the server, and forgets its secret once it is gone.
async function removed(target) {
  await target.remove();
  gone(target);
}

// The records kept that are neither on show (it has its own Delete) nor being deleted.
function earlierRecords() {
  return kept.except([record, photoUnder?.photo, pendingPhoto, ...deletions]);
}

function showKept() {
  const count = earlierRecords().length;
  deleteKeptButton.hidden = count === 0;
  deleteKeptButton.textContent = count === 1 ? "Delete your earlier drawing" : `Delete your ${count} earlier drawings`;
}

// Deletes the earlier records; one gone already (deleted by staff, or from this tab before a reload) is as
// good as deleted.
async function deleteEarlier() {
  const earlier = earlierRecords();
  const hadFocus = document.activeElement === deleteKeptButton;
  keptMessage.textContent = "Deleting…";
  const failures = [];
  // One at a time: a long visit's drawings, deleted at once, spent the minute's writes in a burst.
  for (const target of earlier) {
    try {
      await removedWaitingAsTold(target);
    } catch (error) {
      if (error.status !== 404) {
        failures.push(error);
        continue;
      }
    }
    kept.forget(target);
  }
  showKept();
  const deleted = earlier.length - failures.length;
  const done = deleted === 1 ? "Your earlier drawing was deleted." : `Your ${deleted} earlier drawings were deleted.`;
  keptMessage.textContent = failures.length
    ? `${deleted ? `${done} ` : ""}${failures.length} not deleted: try again. ${failures[0].message}`
    : done;
  if (hadFocus && deleteKeptButton.hidden) {
    // Hidden, the button dropped the keyboard's focus to the page's start.
    canvas.focus();
  }
}

// Deletes the record, waiting out a refusal for too many requests as long as it says, within reason: after the
// first, each of the rest was refused at once, and a long visit's drawings were left "not deleted: try again".
async function removedWaitingAsTold(target) {
  for (;;) {
    try {
      return await api.remove(target);
    } catch (error) {
      if (error.status !== 429 || !(error.retryAfter > 0 && error.retryAfter <= RESEND_AFTER_MAX_S)) {
        throw error;
      }
      keptMessage.textContent = `Deleting… (the site asks for a pause of ${error.retryAfter} s)`;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfter * 1000));
    }
  }
}

// An answer is shown only for what is on screen now: the pad's current version, or the photo.
function isCurrent(tag) {
  return tag === latestTag && (record?.source !== "canvas" || tag === pad.version);
}

function showAnswer(answer, tag) {
  backOnlineTriesLeft = 0;
  if (isCurrent(tag)) {
    shownTag = tag;
    result.show(answer, pad.isFull ? FULL_MESSAGE : "");
  }
}

// A failure that another try may not meet: no answer at all, the server's own trouble, or too many
// requests at once with no wait said (nginx's limit of connections from one address).
function isPassing(error) {
  return error.status === undefined || error.status >= 500 || (error.status === 429 && !error.retryAfter);
}

function showError(error, tag) {
  if (!isCurrent(tag)) {
    return;
  }
  failedTag = tag;
  const again = resendAfterWait(error, sendAgainIfFailed) ? " Your drawing will be sent again by itself then."
    : tryAgainOnceOnline(error) ? " It will be sent again in a moment."
      : isPassing(error) ? " Press Predict to send it again." : "";
  result.showError(`${error.message}${again}`);
}

// Sets `resend` to run once a refusal's short wait is over; says whether it did.
function resendAfterWait(error, resend) {
  clearTimeout(resendTimer);
  const waited = [429, 503].includes(error.status) && error.retryAfter > 0 && error.retryAfter <= RESEND_AFTER_MAX_S;
  if (waited) {
    resendTimer = setTimeout(resend, error.retryAfter * 1000);
  }
  return waited;
}

function send() {
  if (pad.isEmpty || pad.isDrawing) {
    return;
  }
  const tag = pad.version;
  latestTag = tag;
  failedTag = null;
  clearTimeout(resendTimer);
  record.save(pad.snapshot(), tag);
  setTimeout(() => {
    if (latestTag === tag && isAwaitingAnswer()) {
      sayReading();
    }
  }, SLOW_ANSWER_MS);
}

// The drawing on screen was sent, and neither its answer nor its failure has come back.
function isAwaitingAnswer() {
  return latestTag === pad.version && failedTag !== latestTag && !result.isShowingCurrent;
}

// Only the drawing the failure was for, still on screen and not sent since.
function sendAgainIfFailed() {
  if (failedTag !== null && failedTag === latestTag && latestTag === pad.version) {
    send();
  }
}

// A phone's connection comes back: the failed drawing or photo is sent again a moment later, since the
// browser may say it is online before a request gets through; where that try cannot get through either, it is
// tried again, each wait twice as long, BACK_ONLINE_TRIES times in all.
window.addEventListener("online", () => {
  backOnlineTriesLeft = BACK_ONLINE_TRIES;
  resendOnceOnline(BACK_ONLINE_MS);
});

function resendOnceOnline(wait) {
  backOnlineTriesLeft -= 1;
  clearTimeout(backOnlineTimer);
  backOnlineTimer = setTimeout(() => {
    sendAgainIfFailed();
    if (photoToResend) {
      sendPhotoAgainIfFailed(photoToResend);
    }
  }, wait);
}

// A try sent as the connection came back failed as an offline one does: the next one waits twice as long.
function tryAgainOnceOnline(error) {
  if (backOnlineTriesLeft > 0 && navigator.onLine && error.status === undefined) {
    resendOnceOnline(BACK_ONLINE_MS * 2 ** (BACK_ONLINE_TRIES - backOnlineTriesLeft));
    return true;
  }
  return false;
}

// A stroke was taken back (a palm, a second finger): the page is as it was before it began, without a word.
// Its answer on show is current again, label and all; one on its way is shown when it comes; a failure's
// message and its resend stand; a photo under the first stroke, or being read, is as it was.
function strokeDropped() {
  followPad();
  if (!pad.isEmpty) {
    if (shownTag === pad.version) {
      result.markCurrent();
    } else if (failedTag === pad.version) {
      result.markIdle();
    }
    return;
  }
  // The first stroke: nothing of the drawing's record was sent.
  endRecord();
  if (pendingPhotoAnswer) {
    showPhoto(pendingPhoto, pendingPhotoAnswer);
  } else if (photoUnder) {
    const { photo, answer } = photoUnder;
    photoUnder = null;
    record = photo;
    latestTag = shownTag = photo;
    putPhotoInPad(answer);
    result.markCurrent();
    showKept();
  } else {
    result.markIdle();
  }
}

function sayReading() {
  result.showStatus("Reading your drawing…", "busy");
}

// The controls follow the pad: Undo and Clear only with something to take away.
function followPad() {
  padArea.toggleAttribute("data-has-ink", !pad.isEmpty);
  const focusLost = pad.isEmpty && [undoButton, clearButton].includes(document.activeElement);
  undoButton.disabled = pad.isEmpty;
  clearButton.disabled = pad.isEmpty;
  if (focusLost) {
    // A disabled button drops the keyboard's focus to the page's start: it goes back to the drawing area.
    canvas.focus();
  }
}

function drawingChanged() {
  followPad();
  if (pad.isEmpty) {
    // The drawing is over: its record keeps its last version, and the next stroke starts a new one.
    if (record?.source === "canvas") {
      endRecord();
      result.reset();
      if (photoUnder) {
        showPhotoAgain();
      } else if (pendingPhoto) {
        result.showStatus("Reading your photo…", "busy");
      }
    }
  } else {
    result.markStale();
  }
}

function undo() {
  if (pad.undo()) {
    setPhotoAside();
    send();
  }
}

function predict() {
  if (pad.isDrawing) {
    return;
  }
  if (pendingPhoto) {
    // The photo chosen last is on its way: "the canvas is empty", or the drawing's answer, said it was not.
    result.showStatus("Reading your photo…", "busy");
  } else if (photoToResend) {
    // Chosen after the drawing on show, the photo is what the person sent last.
    sendPhotoAgainIfFailed(photoToResend);
  } else if (result.isShowingCurrent) {
    result.announceAgain();
  } else if (pad.isEmpty) {
    result.showError("The canvas is empty: draw a digit first.");
  } else if (isAwaitingAnswer()) {
    sayReading();
  } else {
    // Not sent yet, or sent and failed: a retry.
    send();
  }
}

function sameFile(one, other) {
  return one.name === other.name && one.size === other.size && one.lastModified === other.lastModified
    && one.type === other.type;
}

async function uploadPhoto(file) {
  dropPendingPhoto();
  clearTimeout(resendTimer);
  photoToResend = null;
  const retried = failedPhoto && sameFile(failedPhoto.file, file) ? failedPhoto.photo : null;
  failedPhoto = null;
  const photo = retried ?? new DrawingRecord(api, "upload", {
    onCreated: keep,
    onAnswer: (answer) => {
      backOnlineTriesLeft = 0;
      if (pad.isDrawing) {
        pendingPhotoAnswer = answer;
      } else {
        showPhoto(photo, answer);
      }
    },
    onError: (error) => {
      pendingPhoto = null;
      const failed = { file, photo };
      failedPhoto = failed;
      photoToResend = isPassing(error) ? failed : null;
      // The API names the field a message is about; on the page there is only the photo.
      const reason = error.message.replace(/^Image: (.)/, (_, first) => first.toUpperCase());
      const again = resendAfterWait(error, () => sendPhotoAgainIfFailed(failed))
        ? " It will be sent again by itself then." : photoToResend && tryAgainOnceOnline(error)
          ? " It will be sent again in a moment." : photoToResend ? " Press Predict to send it again." : "";
      const notForItself = isPassing(error) || error.status === 429;
      result.showError(`Your photo ${notForItself ? "was not read" : "could not be used"}. ${reason}${again}`);
    },
  });
  pendingPhoto = photo;
  result.showStatus("Reading your photo…", "busy");
  let upload;
  try {
    upload = await photoToSend(file, maxImageBytes, minImageSide);
  } catch (error) {
    if (pendingPhoto === photo) {
      pendingPhoto = null;
      result.showError(error.message);
    }
    return;
  }
  photo.save(upload, upload);
}

// Only the photo the refusal was for, not chosen again since, and not while a stroke is being drawn (a
// stroke's end sends the drawing, which cancels the resend).
function sendPhotoAgainIfFailed(failed) {
  if (failedPhoto === failed && !pad.isDrawing) {
    uploadPhoto(failed.file);
  }
}

function showPhoto(photo, answer) {
  pendingPhoto = null;
  pendingPhotoAnswer = null;
  photoToResend = null;
  photoUnder?.photo.close();
  photoUnder = null;
  endRecord();
  pad.clear();
  record = photo;
  latestTag = photo;
  shownTag = photo;
  result.show(answer);
  putPhotoInPad(answer);
  showKept();
}

function showPhotoAgain() {
  const { photo, answer } = photoUnder;
  photoUnder = null;
  record = photo;
  latestTag = photo;
  shownTag = photo;
  result.show(answer);
  putPhotoInPad(answer);
  showKept();
}

// The photo read is shown where the drawing was, so that its answer is not given beside an empty pad.
function putPhotoInPad(answer) {
  padPhoto.src = answer.image_url;
  padPhoto.hidden = false;
  padArea.toggleAttribute("data-has-photo", true);
  clearButton.disabled = false;
}

function hidePhoto() {
  padPhoto.hidden = true;
  padPhoto.removeAttribute("src");
  padArea.removeAttribute("data-has-photo");
  clearButton.disabled = pad.isEmpty;
}

// Clear empties the pad; with a photo on show, it puts the photo and its answer away.
function clear() {
  if (record?.source !== "upload") {
    pad.clear();
    return;
  }
  const focusLost = document.activeElement === clearButton;
  endRecord();
  hidePhoto();
  result.reset();
  if (focusLost) {
    canvas.focus();
  }
}

async function sendFeedback(label) {
  const target = record;
  const answer = result.answer;
  result.feedbackSending();
  // Said of the answer on show, and only while it is: a newer drawing's answer has feedback of its own.
  const stillShown = () => target === record && result.answer === answer;
  try {
    await api.feedback(target, label, answer.revision);
    if (stillShown()) {
      result.feedbackSaved(label);
    }
  } catch (error) {
    if (stillShown()) {
      result.feedbackFailed(error.message);
    }
  }
}

async function deleteDrawing() {
  const target = record;
  const answer = result.answer;
  // A photo the drawing went over is put away, as Clear puts one away: left under the deleted drawing, it was
  // neither shown again nor among the earlier drawings, and could not be deleted.
  photoUnder?.photo.close();
  photoUnder = null;
  endRecord();
  pad.clear();
  hidePhoto();
  result.reset("Deleting your drawing…");
  canvas.focus();
  deletions.add(target);
  try {
    await removed(target);
    deletions.delete(target);
    if (record === null) {
      result.showStatus(`Your ${target.source === "upload" ? "photo" : "drawing"} and its answer were deleted.`, "done");
    }
  } catch (error) {
    if (record === null) {
      // Back on show, as a photo is, so that it can be deleted again: its secret lives only here.
      deletions.delete(target);
      record = target;
      latestTag = target;
      shownTag = null;
      result.show(answer);
      if (target.source === "upload") {
        putPhotoInPad(answer);
      }
      showKept();
      result.showError(`Your drawing was not deleted: press "Delete my drawing" to try again. ${error.message}`);
    } else {
      deleteLater(target, DELETE_RETRY_MS, error);
    }
  }
}

// The person has gone on to a new drawing: the one they deleted is deleted in the background, while the
// page is open. A refusal that another try cannot change (a 4xx but 429) ends it.
function deleteLater(target, delay, error) {
  if (error.status !== undefined && error.status !== 429 && error.status < 500) {
    deletions.delete(target);
    return;
  }
  setTimeout(() => {
    removed(target).then(() => deletions.delete(target),
      (next) => deleteLater(target, Math.min(2 * delay, DELETE_RETRY_MAX_MS), next));
  }, delay);
}

// A shortcut pressed on a label or on Delete disables or hides the control it was pressed on, which drops
// the keyboard's focus to the page's start: it goes back to the drawing area, as from Undo and Clear.
function keepingFocus(action) {
  const focused = document.activeElement;
  action();
  if (focused !== canvas && root.contains(focused) && (focused.disabled || focused.closest("[hidden]"))) {
    canvas.focus();
  }
}

undoButton.addEventListener("click", undo);
deleteKeptButton.addEventListener("click", deleteEarlier);
clearButton.addEventListener("click", clear);
predictButton.addEventListener("click", predict);
photoInput.addEventListener("change", () => {
  const [file] = photoInput.files;
  photoInput.value = "";
  if (file) {
    uploadPhoto(file);
  }
});

// A photo dragged onto the page from the desktop is read as one chosen: dropped where nothing takes a file,
// the browser opens it in place of the page, and the drawing on show goes with the page.
for (const type of ["dragenter", "dragover"]) {
  document.addEventListener(type, (event) => {
    if (event.dataTransfer.types.includes("Files")) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });
}
document.addEventListener("drop", (event) => {
  if (event.dataTransfer.types.includes("Files")) {
    event.preventDefault();
    const [file] = event.dataTransfer.files;
    if (file) {
      uploadPhoto(file);
    }
  }
});

window.addEventListener("beforeunload", (event) => {
  if (deletions.size) {
    // The browser asks whether to leave: leaving now would keep a drawing its owner asked to delete.
    event.preventDefault();
  }
});

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.isComposing) {
    return;
  }
  // A letter by the key's own, as the browser's shortcuts go; on a layout that types no Latin letters (Cyrillic, Greek)
  // by the key's place, where Ctrl+Z did nothing.
  const letter = /^[a-z]$/i.test(event.key) ? event.key.toLowerCase() : event.code.replace(/^Key/, "").toLowerCase();
  if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && letter === "z") {
    event.preventDefault();
    keepingFocus(undo);
  } else if (event.key === "Escape") {
    keepingFocus(clear);
  } else if (event.key === "Enter" && !event.target.closest("button, a, input, select, textarea, label")) {
    event.preventDefault();
    predict();
  }
});

pad.fit();
result.reset();
showKept();
keepUnanswered();
