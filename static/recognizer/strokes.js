// The drawing pad: pointer input recorded as strokes, and the strokes traced on the canvas.
//
// A stroke is { pointer: "mouse" | "pen" | "touch", points: [[x, y, t, pressure], ...] }: x and y are
// fractions of the canvas side (so strokes redraw at any size; below 0 or above 1 off the canvas), t
// milliseconds since the drawing's first point, pressure 0 to 1. The server renders the same strokes
// with the same round pen, whose width (a fraction of the side) it gives the page, with the pointer types
// it takes.

// Samples closer than this to the previous one (a fraction of the side, under a pixel) add nothing.
const MIN_STEP = 0.002;
// A press this close to the pad (CSS pixels) starts a stroke too: a mouse or a pen gives no slack, and a
// stroke begun 3 pixels above the pad was lost without a word.
const GRAB_MARGIN = 16;
// What a press near the pad is meant for when it lands on one of these.
const CONTROLS = "button, a, input, select, textarea, label, summary, [role=button]";

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));
const round = (value, digits) => Number(value.toFixed(digits));

export function traceStrokes(context, strokes, side, penWidth) {
  context.lineWidth = side * penWidth;
  context.lineCap = "round";
  context.lineJoin = "round";
  for (const { points } of strokes) {
    const [x0, y0] = points[0];
    context.beginPath();
    if (points.length === 1) {
      context.arc(x0 * side, y0 * side, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    context.moveTo(x0 * side, y0 * side);
    // Curving through the midpoints between samples turns jagged pointer input into a smooth line,
    // as mlcore.render does on the server.
    for (let i = 1; i < points.length - 1; i += 1) {
      const [x, y] = points[i];
      const [nextX, nextY] = points[i + 1];
      context.quadraticCurveTo(x * side, y * side, ((x + nextX) / 2) * side, ((y + nextY) / 2) * side);
    }
    const [lastX, lastY] = points[points.length - 1];
    context.lineTo(lastX * side, lastY * side);
    context.stroke();
  }
}

// Calls back: onStrokeStart() when any stroke begins, onStrokeEnd() when the pen lifts, onStrokeDropped()
// when a stroke is taken back before its end (a palm, a pinch: the drawing, and `version`, are as they were
// before it began), onChange() after any other change of the strokes (drawing, undo, clear). `version`
// counts the changes.
export class Pad {
  // A pointer that leaves the canvas goes on drawing, up to `offCanvas` of a side beyond it: the canvas
  // shows only its part on it, the server reads the whole drawing.
  constructor(canvas, { maxStrokes, maxPoints, maxTime, offCanvas, penWidth, pointerTypes, onStrokeStart,
    onStrokeEnd, onStrokeDropped, onChange, onFull }) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.limits = { maxStrokes, maxPoints, maxTime, offCanvas };
    this.pen = { width: penWidth, pointerTypes };
    this.callbacks = { onStrokeStart, onStrokeEnd, onStrokeDropped, onChange, onFull };
    this.strokes = [];
    this.pointCount = 0;
    this.fullSaid = false;
    this.origin = 0;
    this.version = 0;
    this.versionBeforeStroke = 0;
    this.activePointerId = null;
    // The touches down on the pad: a second one is a pinch or a scroll, not ink.
    this.touchesOnPad = new Set();
    this.renderQueued = false;

    canvas.addEventListener("pointerdown", (event) => this.#down(event));
    canvas.addEventListener("pointermove", (event) => this.#move(event));
    for (const type of ["pointerup", "lostpointercapture"]) {
      // Capture can be lost without a pointerup (a system gesture, a window switch); the stroke ends there.
      canvas.addEventListener(type, (event) => this.#up(event));
    }
    // A tablet cancels a touch once it recognises it as a resting palm: that was never a stroke.
    canvas.addEventListener("pointercancel", (event) => {
      if (event.pointerId === this.activePointerId) {
        this.#dropActiveStroke();
      }
    });
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, (event) => this.touchesOnPad.delete(event.pointerId));
    }
    document.addEventListener("pointerdown", (event) => {
      if (event.target === canvas) {
        return;
      }
      if (this.#nearPad(event) && !event.target.closest(CONTROLS)) {
        this.#down(event);
      } else if (event.pointerType === "touch" && this.#drawingWithFinger) {
        // A second finger off the pad while one draws on it is a pinch of the page all the same.
        this.#dropActiveStroke();
      }
    });
    // A finger's stroke begun beside the pad would scroll the page, or swipe back through its history (only
    // the canvas says `touch-action: none`), and the browser then cancelled it: such strokes were lost. Only a
    // first finger: a second one landing beside the pad is a pinch, which zooms (and drops any stroke).
    document.addEventListener("touchstart", (event) => {
      if (event.touches.length === 1 && event.target !== canvas && this.#nearPad(event.changedTouches[0])
          && !event.target.closest(CONTROLS)) {
        event.preventDefault();
      }
    }, { passive: false });
    new ResizeObserver(() => this.fit()).observe(canvas);
    // Zooming or moving to another screen changes devicePixelRatio without resizing the canvas box.
    window.addEventListener("resize", () => this.fit());
    // The ink's colour comes from the style sheet, which follows the light or dark theme.
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.render());
  }

  get isEmpty() {
    return this.strokes.length === 0;
  }

  // No stroke can be added, or no point to the stroke in progress.
  get isFull() {
    return this.strokes.length >= this.limits.maxStrokes || this.pointCount >= this.limits.maxPoints;
  }

  get isDrawing() {
    return this.activePointerId !== null;
  }

  undo() {
    if (this.isDrawing || this.isEmpty) {
      return false;
    }
    this.pointCount -= this.strokes.pop().points.length;
    this.#changed();
    return true;
  }

  clear() {
    if (this.isDrawing) {
      return false;
    }
    this.strokes = [];
    this.pointCount = 0;
    this.#changed();
    return true;
  }

  // The strokes as the API takes them: a copy, so later drawing cannot change what was sent.
  snapshot() {
    return this.strokes.map(({ pointer, points }) => ({ pointer, points: points.map((point) => [...point]) }));
  }

  fit() {
    const side = Math.max(1, Math.round(this.canvas.getBoundingClientRect().width * window.devicePixelRatio));
    if (this.canvas.width !== side || this.canvas.height !== side) {
      this.canvas.width = side;
      this.canvas.height = side;
    }
    this.render();
  }

  render() {
    this.renderQueued = false;
    const ink = getComputedStyle(this.canvas).color;
    this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.context.strokeStyle = ink;
    this.context.fillStyle = ink;
    traceStrokes(this.context, this.strokes, this.canvas.width, this.pen.width);
  }

  #queueRender() {
    if (!this.renderQueued) {
      this.renderQueued = true;
      requestAnimationFrame(() => this.render());
    }
  }

  #changed() {
    this.version += 1;
    this.callbacks.onChange();
    this.#queueRender();
  }

  #point(event, previous) {
    const box = this.canvas.getBoundingClientRect();
    const { offCanvas, maxTime } = this.limits;
    // A drawing left open and finished a day later: its times stop at the server's limit, which refused every
    // later version of it.
    const t = clamp(Math.round(event.timeStamp - this.origin), 0, maxTime);
    return [
      round(clamp((event.clientX - box.left) / box.width, -offCanvas, 1 + offCanvas), 4),
      round(clamp((event.clientY - box.top) / box.height, -offCanvas, 1 + offCanvas), 4),
      previous ? Math.max(previous[2], t) : t,
      round(clamp(event.pressure, 0, 1), 3),
    ];
  }

  #nearPad(event) {
    const box = this.canvas.getBoundingClientRect();
    return box.width > 0 && event.clientX >= box.left - GRAB_MARGIN && event.clientX <= box.right + GRAB_MARGIN
      && event.clientY >= box.top - GRAB_MARGIN && event.clientY <= box.bottom + GRAB_MARGIN;
  }

  get #drawingWithFinger() {
    return this.isDrawing && this.strokes[this.strokes.length - 1].pointer === "touch";
  }

  #down(event) {
    if (event.pointerType === "touch") {
      // The first finger of a new touch (its primary pointer) finds no other down: none was missed lifting.
      if (event.isPrimary) {
        this.touchesOnPad.clear();
      }
      this.touchesOnPad.add(event.pointerId);
      // A finger landing on the pad beside another is a pinch or a scroll, not ink: the first one's stroke
      // is taken back, and no finger draws until the pad is free of them. (A thumb holding the phone off
      // the pad stops no finger.)
      if (this.touchesOnPad.size > 1) {
        if (this.#drawingWithFinger) {
          this.#dropActiveStroke();
        }
        return;
      }
    }
    if (this.#drawingWithFinger && event.pointerType === "pen") {
      // The hand holding the pen rests on the screen before the pen's tip touches it.
      this.#dropActiveStroke();
    }
    // Once a drawing is written with a pen, the hand resting between its strokes is no stroke either.
    const restingHand = event.pointerType === "touch" && this.strokes.some((stroke) => stroke.pointer === "pen");
    // A mouse's other buttons, and a pen's barrel button or eraser, draw nothing.
    if (this.isDrawing || restingHand || event.button !== 0) {
      return;
    }
    event.preventDefault();
    // Cancelled, the pointer no longer takes the focus from a button clicked before (Undo, a label),
    // and Enter, which predicts, pressed that button again. Let go instead of moved to the canvas,
    // which would then wear the keyboard's focus ring after every stroke.
    if (document.activeElement !== this.canvas) {
      document.activeElement?.blur();
    }
    if (this.isFull) {
      this.callbacks.onFull();
      return;
    }
    this.canvas.setPointerCapture(event.pointerId);
    this.activePointerId = event.pointerId;
    if (this.isEmpty) {
      this.origin = event.timeStamp;
    }
    this.callbacks.onStrokeStart();
    this.fullSaid = false;
    this.versionBeforeStroke = this.version;
    const pointer = this.pen.pointerTypes.includes(event.pointerType) ? event.pointerType : "mouse";
    this.strokes.push({ pointer, points: [this.#point(event, null)] });
    this.pointCount += 1;
    this.#changed();
  }

  #move(event) {
    if (event.pointerId !== this.activePointerId) {
      return;
    }
    const { points } = this.strokes[this.strokes.length - 1];
    const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const sample of samples.length ? samples : [event]) {
      const last = points[points.length - 1];
      const point = this.#point(sample, last);
      if (Math.hypot(point[0] - last[0], point[1] - last[1]) < MIN_STEP) {
        continue;
      }
      if (this.pointCount >= this.limits.maxPoints) {
        // Said once, as the ink stops following the pen.
        if (!this.fullSaid) {
          this.fullSaid = true;
          this.callbacks.onFull();
        }
        break;
      }
      points.push(point);
      this.pointCount += 1;
    }
    this.#queueRender();
  }

  // Nothing of the stroke in progress is kept or sent: the drawing is the version it was before it.
  #dropActiveStroke() {
    this.activePointerId = null;
    this.pointCount -= this.strokes.pop().points.length;
    this.version = this.versionBeforeStroke;
    this.#queueRender();
    this.callbacks.onStrokeDropped();
  }

  #up(event) {
    if (event.pointerId !== this.activePointerId) {
      return;
    }
    this.activePointerId = null;
    this.callbacks.onStrokeEnd();
  }
}
