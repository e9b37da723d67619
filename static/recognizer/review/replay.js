// Replays a drawing's strokes on a canvas in their order and timing.
// Strokes: [{pointer, points: [[x, y, t, pressure], ...]}], x and y fractions of the side, t ms since the first point.

const PEN_WIDTH = 1 / 14; // the page's pen, as mlcore.render draws it

function prepare(canvas) {
  const side = canvas.clientWidth || canvas.width;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.height = Math.round(side * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio * side, 0, 0, ratio * side, 0, 0);
  context.lineCap = context.lineJoin = "round";
  context.lineWidth = PEN_WIDTH;
  context.strokeStyle = getComputedStyle(canvas).color;
  return context;
}

function segment(context, from, to) {
  context.beginPath();
  context.moveTo(from[0], from[1]);
  context.lineTo(to[0], to[1]);
  context.stroke();
}

function dot(context, point) {
  context.beginPath();
  context.arc(point[0], point[1], PEN_WIDTH / 2, 0, 2 * Math.PI);
  context.fillStyle = context.strokeStyle;
  context.fill();
}

// Draws the strokes as they were drawn, `speed` times faster; the returned function stops the replay.
export function replay(canvas, strokes, { speed = 1, onDone = () => {} } = {}) {
  const context = prepare(canvas);
  context.clearRect(0, 0, 1, 1);
  const events = [];
  strokes.forEach((stroke) => stroke.points.forEach((point, index) => {
    events.push({ t: point[2], point, previous: index ? stroke.points[index - 1] : null });
  }));
  events.sort((a, b) => a.t - b.t);
  let next = 0;
  let frame = 0;
  const started = performance.now();
  const step = (now) => {
    const elapsed = (now - started) * speed;
    while (next < events.length && events[next].t <= elapsed) {
      const { point, previous } = events[next++];
      if (previous) segment(context, previous, point); else dot(context, point);
    }
    if (next < events.length) frame = requestAnimationFrame(step); else onDone();
  };
  frame = requestAnimationFrame(step);
  return () => cancelAnimationFrame(frame);
}

// Every canvas with data-strokes (a JSON list) gets a replay, restarted by the button named in data-replay-button.
export function replayAll(root = document) {
  root.querySelectorAll("canvas[data-strokes]").forEach((canvas) => {
    const strokes = JSON.parse(canvas.dataset.strokes);
    let stop = replay(canvas, strokes);
    const button = canvas.dataset.replayButton && document.getElementById(canvas.dataset.replayButton);
    if (button) button.addEventListener("click", () => { stop(); stop = replay(canvas, strokes); });
  });
}
