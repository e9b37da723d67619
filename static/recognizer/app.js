"use strict";

// The drawing page: strokes on a canvas, sent to the prediction API shortly after each one ends.
(() => {
  // Five times the model's 28x28 input is detail enough, and a quarter of the pixels of 280x280
  // to upload and decode.
  const EXPORT_SIDE = 140;
  const STROKE_WIDTH = 1 / 14;
  const PREDICT_DELAY_MS = 300;
  const INK = "#14161f";

  const root = document.getElementById("recognizer");
  const predictionsUrl = root.dataset.predictionsUrl;
  const pad = root.querySelector(".pad");
  const canvas = root.querySelector('[data-testid="digit-canvas"]');
  const context = canvas.getContext("2d");
  const undoButton = root.querySelector('[data-testid="undo-button"]');
  const clearButton = root.querySelector('[data-testid="clear-button"]');
  const predictButton = root.querySelector('[data-testid="predict-button"]');
  const results = root.querySelector(".results");
  const status = root.querySelector('[data-testid="status"]');
  const verdictDigit = root.querySelector(".verdict-digit");
  const verdictConfidence = root.querySelector(".verdict-confidence");
  const top3 = root.querySelector('[data-testid="top3"]');
  const chartColumns = [...root.querySelectorAll(".chart-column")];
  const chartDescription = root.querySelector("#chart-description");
  const feedback = root.querySelector('[data-testid="feedback"]');
  const feedbackButtons = [...feedback.querySelectorAll("button[data-label]")];
  const feedbackMessage = root.querySelector('[data-testid="feedback-message"]');

  // Points are fractions of the canvas side, so strokes redraw at any size and export at any resolution.
  const strokes = [];
  let activePointerId = null;
  // Bumped on every change to the drawing; an answer for an older version is dropped.
  let drawingVersion = 0;
  let shown = null;
  let predictTimer = 0;
  let pendingRequest = null;
  let renderQueued = false;

  const percent = (probability) => new Intl.NumberFormat(undefined, {
    style: "percent", maximumFractionDigits: probability < 0.1 ? 1 : 0,
  }).format(probability);

  // Drawing

  function traceStrokes(target, side) {
    target.lineWidth = side * STROKE_WIDTH;
    target.lineCap = "round";
    target.lineJoin = "round";
    target.strokeStyle = INK;
    target.fillStyle = INK;
    for (const points of strokes) {
      const [x0, y0] = points[0];
      target.beginPath();
      if (points.length === 1) {
        target.arc(x0 * side, y0 * side, target.lineWidth / 2, 0, 2 * Math.PI);
        target.fill();
        continue;
      }
      target.moveTo(x0 * side, y0 * side);
      // Curving through the midpoints between samples turns jagged pointer input into a smooth line.
      for (let i = 1; i < points.length - 1; i += 1) {
        const [x, y] = points[i];
        const [nextX, nextY] = points[i + 1];
        target.quadraticCurveTo(x * side, y * side, ((x + nextX) / 2) * side, ((y + nextY) / 2) * side);
      }
      const [lastX, lastY] = points[points.length - 1];
      target.lineTo(lastX * side, lastY * side);
      target.stroke();
    }
  }

  function render() {
    renderQueued = false;
    context.clearRect(0, 0, canvas.width, canvas.height);
    traceStrokes(context, canvas.width);
  }

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(render);
    }
  }

  function fitBackingStore() {
    const side = Math.max(1, Math.round(canvas.getBoundingClientRect().width * window.devicePixelRatio));
    if (canvas.width !== side || canvas.height !== side) {
      canvas.width = side;
      canvas.height = side;
    }
    render();
  }

  function exportDrawing() {
    const offscreen = document.createElement("canvas");
    offscreen.width = EXPORT_SIDE;
    offscreen.height = EXPORT_SIDE;
    const target = offscreen.getContext("2d");
    target.fillStyle = "#ffffff";
    target.fillRect(0, 0, EXPORT_SIDE, EXPORT_SIDE);
    traceStrokes(target, EXPORT_SIDE);
    return offscreen.toDataURL("image/png");
  }

  function pointOf(event) {
    const box = canvas.getBoundingClientRect();
    const clamp = (value) => Math.min(1, Math.max(0, value));
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  }

  function drawingChanged() {
    drawingVersion += 1;
    clearTimeout(predictTimer);
    if (pendingRequest) {
      pendingRequest.abort();
      pendingRequest = null;
    }
    const empty = strokes.length === 0;
    pad.toggleAttribute("data-has-ink", !empty);
    undoButton.disabled = empty;
    clearButton.disabled = empty;
    if (empty) {
      resetResults();
    } else if (shown) {
      results.dataset.state = "stale";
      // The result on screen no longer describes the drawing: feedback would label the wrong one.
      setFeedbackEnabled(false);
    }
    queueRender();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (activePointerId !== null || (event.pointerType === "mouse" && event.button !== 0)) {
      return;
    }
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    activePointerId = event.pointerId;
    strokes.push([pointOf(event)]);
    drawingChanged();
  });

  canvas.addEventListener("pointermove", (event) => {
    if (event.pointerId !== activePointerId) {
      return;
    }
    const stroke = strokes[strokes.length - 1];
    const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const sample of samples.length ? samples : [event]) {
      const point = pointOf(sample);
      const last = stroke[stroke.length - 1];
      if (point[0] !== last[0] || point[1] !== last[1]) {
        stroke.push(point);
      }
    }
    queueRender();
  });

  function endStroke(event) {
    if (event.pointerId !== activePointerId) {
      return;
    }
    activePointerId = null;
    clearTimeout(predictTimer);
    predictTimer = setTimeout(predict, PREDICT_DELAY_MS);
  }

  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  // Capture can be lost without a pointerup (a system gesture, a window switch); the stroke ends there.
  canvas.addEventListener("lostpointercapture", endStroke);

  function undo() {
    if (activePointerId !== null || strokes.length === 0) {
      return;
    }
    strokes.pop();
    drawingChanged();
    if (strokes.length) {
      predictTimer = setTimeout(predict, PREDICT_DELAY_MS);
    }
  }

  function clear() {
    if (activePointerId !== null) {
      return;
    }
    strokes.length = 0;
    drawingChanged();
  }

  // Talking to the API

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((item) => item.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  // Resolves to the answer's JSON; rejects with an Error whose message a person can read.
  async function postJson(url, payload, signal, headers = {}) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(), ...headers },
        body: JSON.stringify(payload),
        credentials: "same-origin",
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") {
        throw error;
      }
      throw new Error("The server could not be reached. Check your connection and try again.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const reason = body && body.error ? body.error : `the server answered ${response.status} ${response.statusText}`;
      throw new Error(reason.charAt(0).toUpperCase() + reason.slice(1));
    }
    return body;
  }

  async function predict() {
    clearTimeout(predictTimer);
    if (activePointerId !== null) {
      return;
    }
    if (strokes.length === 0) {
      showStatus("The canvas is empty: draw a digit first.", "error");
      return;
    }
    if (shown && shown.version === drawingVersion) {
      showStatus(describe(shown.prediction), "done");
      return;
    }
    if (pendingRequest) {
      return;
    }
    const version = drawingVersion;
    const request = new AbortController();
    pendingRequest = request;
    results.setAttribute("aria-busy", "true");
    showStatus("Reading your digit…", "busy");
    try {
      const prediction = await postJson(predictionsUrl, { image: exportDrawing(), source: "canvas" }, request.signal);
      if (version === drawingVersion) {
        showPrediction(prediction, version);
      }
    } catch (error) {
      if (error.name !== "AbortError" && version === drawingVersion) {
        showStatus(error.message, "error");
      }
    } finally {
      if (pendingRequest === request) {
        pendingRequest = null;
      }
      if (!pendingRequest) {
        results.removeAttribute("aria-busy");
      }
    }
  }

  async function sendFeedback(button) {
    if (!shown) {
      return;
    }
    const prediction = shown.prediction;
    const label = Number(button.dataset.label);
    setFeedbackEnabled(false);
    try {
      // The secret from the answer that created the prediction proves the drawing is this visitor's.
      await postJson(`${predictionsUrl}${prediction.id}/feedback/`, { label }, undefined,
        { "X-Drawing-Secret": prediction.secret });
      if (shown && shown.prediction === prediction) {
        feedbackButtons.forEach((each) => each.setAttribute("aria-pressed", String(each === button)));
        showFeedbackMessage(`Thank you! Saved: it was a ${label}. This helps train the next model.`, "done");
      }
    } catch (error) {
      if (shown && shown.prediction === prediction) {
        showFeedbackMessage(`Your answer was not saved. ${error.message}`, "error");
      }
    } finally {
      setFeedbackEnabled(results.dataset.state === "shown");
    }
  }

  function setFeedbackEnabled(enabled) {
    feedbackButtons.forEach((each) => { each.disabled = !enabled; });
  }

  // Showing results

  function describe(prediction) {
    return `It looks like a ${prediction.digit} (${percent(prediction.confidence)} sure).`;
  }

  function showStatus(text, tone) {
    status.textContent = text;
    status.dataset.tone = tone;
  }

  function showFeedbackMessage(text, tone) {
    feedbackMessage.textContent = text;
    feedbackMessage.dataset.tone = tone;
  }

  function guessItem({ digit, probability }) {
    const item = document.createElement("li");
    item.className = "guess";
    item.dataset.digit = String(digit);
    item.dataset.probability = String(probability);
    item.setAttribute("aria-label", `${digit}: ${percent(probability)}`);
    item.style.setProperty("--probability", probability);
    const digitLabel = document.createElement("span");
    digitLabel.className = "guess-digit";
    digitLabel.textContent = String(digit);
    const track = document.createElement("span");
    track.className = "guess-track";
    const fill = document.createElement("span");
    fill.className = "guess-fill";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "guess-value";
    value.textContent = percent(probability);
    item.append(digitLabel, track, value);
    return item;
  }

  function showChart(probabilities, best) {
    chartColumns.forEach((column, digit) => {
      column.style.setProperty("--probability", probabilities ? probabilities[digit] : 0);
      column.toggleAttribute("data-best", digit === best);
      column.title = probabilities ? `${digit}: ${percent(probabilities[digit])}` : "";
    });
    chartDescription.textContent = probabilities
      ? probabilities.map((probability, digit) => `${digit}: ${percent(probability)}`).join(", ")
      : "No prediction yet.";
  }

  function showPrediction(prediction, version) {
    shown = { prediction, version };
    results.dataset.state = "shown";
    verdictDigit.textContent = String(prediction.digit);
    verdictConfidence.textContent = percent(prediction.confidence);
    top3.replaceChildren(...prediction.top3.map(guessItem));
    showChart(prediction.probabilities, prediction.digit);
    feedback.hidden = false;
    feedbackButtons.forEach((button) => button.setAttribute("aria-pressed", "false"));
    setFeedbackEnabled(true);
    showFeedbackMessage("", "done");
    showStatus(describe(prediction), "done");
  }

  function resetResults() {
    shown = null;
    results.dataset.state = "empty";
    verdictDigit.textContent = "?";
    verdictConfidence.textContent = "\u00a0";
    top3.replaceChildren();
    showChart(null, -1);
    feedback.hidden = true;
    showFeedbackMessage("", "done");
    showStatus("Draw a digit to see what the model reads.", "idle");
  }

  // Controls

  undoButton.addEventListener("click", undo);
  clearButton.addEventListener("click", clear);
  predictButton.addEventListener("click", predict);
  feedbackButtons.forEach((button) => button.addEventListener("click", () => sendFeedback(button)));

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) {
      return;
    }
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    } else if (event.key === "Escape") {
      clear();
    } else if (event.key === "Enter" && !event.target.closest("button, a, input, select, textarea")) {
      event.preventDefault();
      predict();
    }
  });

  new ResizeObserver(fitBackingStore).observe(canvas);
  // Zooming or moving to another screen changes devicePixelRatio without resizing the canvas box.
  window.addEventListener("resize", fitBackingStore);
})();
