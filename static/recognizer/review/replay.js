// Replays a drawing's strokes on a canvas in their order and timing.
// Strokes: [{pointer, points: [[x, y, t, pressure], ...]}], x and y fractions of the side, t ms since the first point.

import { traceStrokes } from "../strokes.js";

function prepare(canvas) {
  const side = canvas.clientWidth || canvas.width;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.height = Math.round(side * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.strokeStyle = context.fillStyle = getComputedStyle(canvas).color;
  return { context, side };
}

// The strokes as far as they had been drawn `elapsed` ms after the first point.
function drawnBy(strokes, elapsed) {
  return strokes.map((stroke) => ({ ...stroke, points: stroke.points.filter((point) => point[2] <= elapsed) }))
    .filter((stroke) => stroke.points.length);
}

// Draws the strokes as they were drawn, `speed` times faster, each frame traced as the page traced it
// (curves through the samples, with the page's pen, `penWidth` of the side: the shape the model read); the
// returned function stops the replay.
export function replay(canvas, strokes, { penWidth, speed = 1, onDone = () => {} }) {
  const { context, side } = prepare(canvas);
  const times = strokes.flatMap((stroke) => stroke.points.map((point) => point[2]));
  const end = times.reduce((latest, t) => Math.max(latest, t), 0);
  let shown = -1;
  let frame = 0;
  const started = performance.now();
  const step = (now) => {
    const elapsed = (now - started) * speed;
    const drawn = times.filter((t) => t <= elapsed).length;
    if (drawn !== shown) {
      context.clearRect(0, 0, side, side);
      traceStrokes(context, drawnBy(strokes, elapsed), side, penWidth);
      shown = drawn;
    }
    if (elapsed < end) frame = requestAnimationFrame(step); else onDone();
  };
  frame = requestAnimationFrame(step);
  return () => cancelAnimationFrame(frame);
}

// Every canvas with data-strokes (a JSON list) gets a replay with the pen of its data-pen-width, restarted by
// the button named in data-replay-button.
export function replayAll(root = document) {
  root.querySelectorAll("canvas[data-strokes]").forEach((canvas) => {
    const strokes = JSON.parse(canvas.dataset.strokes);
    const options = { penWidth: Number(canvas.dataset.penWidth) };
    let stop = replay(canvas, strokes, options);
    const button = canvas.dataset.replayButton && document.getElementById(canvas.dataset.replayButton);
    if (button) button.addEventListener("click", () => { stop(); stop = replay(canvas, strokes, options); });
  });
}
