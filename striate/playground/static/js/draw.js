// Draw: a canvas for a digit, live top-k prediction, and the network's insides for the drawing.
import { postBlob, showError, debounce } from './api.js';
import { renderBars, renderExplanation } from './views.js';

const canvas = document.getElementById('draw-canvas');
const context = canvas.getContext('2d');
const prediction = document.getElementById('prediction');
const errorBox = document.getElementById('draw-error');
const inside = document.getElementById('draw-inside');
let drawing = false;
let inked = false;
let last = null;
let pending = 0;   // answers to older drawings are dropped

function clear() {
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  inked = false;
  prediction.innerHTML = '<div class="muted">Draw a digit to see what the model thinks.</div>';
  prediction.dataset.label = '';
  inside.hidden = true;
  document.getElementById('draw-input').removeAttribute('src');
}

// Canvas coordinates of a pointer event: the canvas may be shown smaller than its 280x280 pixels.
function point(event) {
  const box = canvas.getBoundingClientRect();
  return { x: (event.clientX - box.left) * canvas.width / box.width,
           y: (event.clientY - box.top) * canvas.height / box.height };
}

function stroke(to) {
  context.strokeStyle = '#111';
  context.lineWidth = 20;
  context.lineCap = 'round';
  context.lineJoin = 'round';
  context.beginPath();
  context.moveTo(last.x, last.y);
  context.lineTo(to.x, to.y);
  context.stroke();
  last = to;
  inked = true;
}

const snapshot = () => new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));

async function ask(withInsides) {
  if (!inked) return;
  const ticket = ++pending;
  try {
    const blob = await snapshot();
    const result = await postBlob(withInsides ? '/api/explain' : '/api/predict?top=5', blob);
    if (ticket !== pending) return;
    showError(errorBox, null);
    renderBars(prediction, result.top, { big: true });
    if (withInsides) {
      inside.hidden = false;
      document.getElementById('draw-input').src = result.input;
      renderExplanation(result, {
        saliency: document.getElementById('draw-saliency'),
        gradcam: document.getElementById('draw-gradcam'),
        gradcamCaption: document.getElementById('draw-gradcam-caption'),
        maps: document.getElementById('draw-maps'),
      });
    }
  } catch (error) {
    if (ticket === pending) showError(errorBox, error);
  }
}

const askSoon = debounce(() => ask(false), 120);

export function start() {
  clear();
  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    stroke(point(event));
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    stroke(point(event));
    askSoon();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    askSoon.cancel();  // the full answer below supersedes a quick one still waiting
    ask(true);
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  document.getElementById('draw-clear').addEventListener('click', clear);
}
