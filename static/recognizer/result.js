// The result view: the answer for the drawing on show, announced through the status live region,
// with feedback and "Delete my drawing" for the record it belongs to. The status and the answer's
// digit sit in the answer line under the pad, so that a phone shows them without scrolling.

const IDLE_MESSAGE = "Draw a digit to see what the model reads.";
// The results' heading, read by screen readers as the region's name; while the answer is stale it says so,
// since only its look (faded bars) says so otherwise.
const HEADING = "Prediction";
const STALE_HEADING = "Prediction for your drawing before its last change";

// "an 8", "a 7": said aloud, "a 8" reads "a eight".
const aDigit = (digit) => `${digit === 8 ? "an" : "a"} ${digit}`;

// Never rounded up to 100 %: 0.9991 read "100% sure", a certainty the model never gave. Written as the page's
// words are: in the browser's own locale an Arabic one read "It looks like a 1 (٩٩٪ sure)", the digits in two scripts.
const percent = (probability) => new Intl.NumberFormat(document.documentElement.lang, {
  style: "percent", maximumFractionDigits: probability < 0.1 ? 1 : 0,
}).format(probability < 1 ? Math.min(probability, 0.99) : probability);

function guessItem({ digit, probability }) {
  const item = document.createElement("li");
  item.className = "guess";
  item.dataset.digit = String(digit);
  item.dataset.probability = String(probability);
  item.setAttribute("aria-label", `${digit}: ${percent(probability)}`);
  item.style.setProperty("--probability", probability);
  const label = document.createElement("span");
  label.className = "guess-digit";
  label.textContent = String(digit);
  const track = document.createElement("span");
  track.className = "guess-track";
  const fill = document.createElement("span");
  fill.className = "guess-fill";
  track.append(fill);
  const value = document.createElement("span");
  value.className = "guess-value";
  value.textContent = percent(probability);
  item.append(label, track, value);
  return item;
}

// A `note` takes the place of the hint that the drawing may not be finished.
function describe(answer, note) {
  const drawn = answer.source === "canvas";
  if (answer.digit === null) {
    const closest = answer.top3.map(({ digit, probability }) => `${digit} (${percent(probability)})`).join(", ");
    // The first stroke of a 4, a 5 or a 7 with a bar is read as soon as the pen lifts.
    const next = note || (drawn ? "If you are still drawing, go on." : "");
    return `That doesn't look like a single digit. Closest guesses: ${closest}. ${next}`.trim();
  }
  return `${drawn ? "It" : "Your photo"} looks like ${aDigit(answer.digit)} (${percent(answer.confidence)} sure). ${note}`.trim();
}

export class ResultView {
  // onFeedback(label) when the drawer says which digit it was; onDelete() for "Delete my drawing".
  constructor(root, answerLine, { onFeedback, onDelete }) {
    this.root = root;
    this.heading = root.querySelector("#results-heading");
    this.answerLine = answerLine;
    this.answerDigit = answerLine.querySelector(".answer-digit");
    this.status = answerLine.querySelector("#status");
    this.verdictDigit = root.querySelector(".verdict-digit");
    this.verdictConfidence = root.querySelector(".verdict-confidence");
    this.top3 = root.querySelector("#top3");
    this.chartColumns = [...root.querySelectorAll(".chart-column")];
    this.chartDescription = root.querySelector("#chart-description");
    this.record = root.querySelector("#record-actions");
    this.feedbackButtons = [...root.querySelectorAll("#feedback button[data-label]")];
    // The label the API takes for "not a digit", as the page gives its button.
    this.notADigit = Number(root.querySelector(".not-a-digit-button").dataset.label);
    // The label button focused as it was pressed, while its label is sent.
    this.pressedFeedback = null;
    this.feedbackMessage = root.querySelector("#feedback-message");
    this.deleteButton = root.querySelector("#delete-button");
    this.answer = null;
    this.labelGiven = false;

    this.feedbackButtons.forEach((button) => button.addEventListener("click", () => onFeedback(Number(button.dataset.label))));
    this.deleteButton.addEventListener("click", onDelete);
  }

  get isShowingCurrent() {
    return this.root.dataset.state === "shown";
  }

  reset(message = IDLE_MESSAGE) {
    this.answer = null;
    this.labelGiven = false;
    this.#setState("empty");
    this.root.removeAttribute("aria-busy");
    this.verdictDigit.textContent = "?";
    this.answerDigit.textContent = "";
    this.verdictConfidence.textContent = "\u00a0";
    this.top3.replaceChildren();
    this.#showChart(null, -1);
    this.record.hidden = true;
    this.#showFeedbackMessage("", "done");
    this.showStatus(message, "idle");
  }

  // The drawing changed: what is shown describes an older version until the next answer.
  markStale() {
    this.root.setAttribute("aria-busy", "true");
    if (this.answer) {
      this.#setState("stale");
      this.#setRecordEnabled(false);
    }
  }

  // Nothing is on its way for the drawing on show (a stroke taken back, its update having failed).
  markIdle() {
    this.root.removeAttribute("aria-busy");
  }

  // The drawing is back to the version the answer on show describes (a stroke taken back): it is current
  // again, as it was, without a word.
  markCurrent() {
    this.root.removeAttribute("aria-busy");
    if (this.answer) {
      this.#setState("shown");
      this.#setRecordEnabled(true);
    }
  }

  // The `note` follows the answer's words in the status.
  show(answer, note = "") {
    // A label given for the drawing before its last change went with that drawing: the server keeps none.
    const labelDropped = this.labelGiven && this.answer?.id === answer.id && this.answer.revision !== answer.revision;
    this.labelGiven = false;
    this.answer = answer;
    this.root.removeAttribute("aria-busy");
    this.#setState("shown", answer.digit === null ? "not-a-digit" : "digit");
    this.verdictDigit.textContent = answer.digit === null ? "?" : String(answer.digit);
    this.answerDigit.textContent = this.verdictDigit.textContent;
    this.verdictConfidence.textContent = answer.digit === null ? "\u00a0" : percent(answer.confidence);
    this.top3.replaceChildren(...answer.top3.map(guessItem));
    this.#showChart(answer.probabilities, answer.digit ?? -1);
    this.record.hidden = false;
    this.feedbackButtons.forEach((button) => button.setAttribute("aria-pressed", "false"));
    this.#setRecordEnabled(true);
    this.#showFeedbackMessage(labelDropped ? "Your answer went with the drawing before your last change: choose again." : "",
      "done");
    this.showStatus(describe(answer, note), "done");
  }

  announceAgain() {
    if (this.answer) {
      this.showStatus(describe(this.answer, ""), "done");
    }
  }

  showError(message) {
    this.root.removeAttribute("aria-busy");
    this.showStatus(message, "error");
    // The drawing's update failed: its record keeps the older version, which can be deleted all the same
    // (its Delete stayed disabled, and only Clear, then the page's foot, could).
    if (this.answer && this.root.dataset.state === "stale") {
      this.deleteButton.disabled = false;
    }
  }

  showStatus(text, tone) {
    this.status.textContent = text;
    this.status.dataset.tone = tone;
  }

  feedbackSending() {
    this.pressedFeedback = this.feedbackButtons.find((button) => button === document.activeElement) ?? null;
    this.#setRecordEnabled(false);
  }

  feedbackSaved(label) {
    this.labelGiven = true;
    this.feedbackButtons.forEach((button) => button.setAttribute("aria-pressed", String(Number(button.dataset.label) === label)));
    const meant = label === this.notADigit ? "it was not a digit" : `it was ${aDigit(label)}`;
    this.#showFeedbackMessage(`Thank you! Saved: ${meant}. This helps train the next model.`, "done");
    this.#feedbackDone();
  }

  feedbackFailed(message) {
    this.#showFeedbackMessage(`Your answer was not saved. ${message}`, "error");
    this.#feedbackDone();
  }

  // Disabled while the label was sent, the button pressed with the keyboard dropped its focus to the
  // page's start: it gets it back, unless the person has moved on.
  #feedbackDone() {
    this.#setRecordEnabled(this.isShowingCurrent);
    if (this.isShowingCurrent && this.pressedFeedback && document.activeElement === document.body) {
      this.pressedFeedback.focus();
    }
    this.pressedFeedback = null;
  }

  // The results card and the answer line show the same state, and the verdict while there is one.
  #setState(state, verdict = this.root.dataset.verdict) {
    this.heading.textContent = state === "stale" ? STALE_HEADING : HEADING;
    for (const element of [this.root, this.answerLine]) {
      element.dataset.state = state;
      if (state === "empty") {
        delete element.dataset.verdict;
      } else {
        element.dataset.verdict = verdict;
      }
    }
  }

  #setRecordEnabled(enabled) {
    this.feedbackButtons.forEach((button) => { button.disabled = !enabled; });
    this.deleteButton.disabled = !enabled;
  }

  #showFeedbackMessage(text, tone) {
    this.feedbackMessage.textContent = text;
    this.feedbackMessage.dataset.tone = tone;
  }

  #showChart(probabilities, best) {
    this.chartColumns.forEach((column, digit) => {
      column.style.setProperty("--probability", probabilities ? probabilities[digit] : 0);
      column.toggleAttribute("data-best", digit === best);
      column.title = probabilities ? `${digit}: ${percent(probabilities[digit])}` : "";
    });
    this.chartDescription.textContent = probabilities
      ? probabilities.map((probability, digit) => `${digit}: ${percent(probability)}`).join(", ")
      : "No prediction yet.";
  }
}
