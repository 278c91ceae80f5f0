// Draw: a canvas for a digit, live top-k prediction, the network's insides for the drawing,
// the arithmetic of any clicked cell and the backward pass of the top class.
import { postBlob, showError, debounce } from './api.js';
import { renderBars, renderExplanation } from './views.js';
import { showNeuron, renderBackward } from './teach.js';
import { whenModelReady } from './main.js';

const canvas = document.getElementById('draw-canvas');
const context = canvas.getContext('2d');
const prediction = document.getElementById('prediction');
const errorBox = document.getElementById('draw-error');
const inside = document.getElementById('draw-inside');
const backwardCard = document.getElementById('draw-backward');
let drawing = false;
let inked = false;
let last = null;
let pending = 0;   // answers to older drawings are dropped
let explained = null;

function clear() {
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  inked = false;
  prediction.innerHTML = '<div class="muted">Draw a digit to see what the model thinks.</div>';
  prediction.dataset.label = '';
  inside.hidden = true;
  backwardCard.hidden = true;
  document.getElementById('neuron').hidden = true;
  stopSliding();
  document.getElementById('draw-input-box').hidden = true;
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

export const snapshot = () => new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));

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
      document.getElementById('draw-input-box').hidden = false;
      document.getElementById('draw-input').src = result.input;
      explained = result;
      renderExplanation(result, {
        saliency: document.getElementById('draw-saliency'),
        gradcam: document.getElementById('draw-gradcam'),
        gradcamCaption: document.getElementById('draw-gradcam-caption'),
        maps: document.getElementById('draw-maps'),
      });
      document.getElementById('neuron').hidden = true;
      backward(blob, ticket);
    }
  } catch (error) {
    if (ticket !== pending) return;
    showError(errorBox, error);
    if (error.status === 503) {   // no model yet: try again by itself once there is one
      await whenModelReady();
      if (ticket === pending) ask(true);
    }
  }
}

async function backward(blob, ticket) {
  const layer = document.getElementById('backward-layer').value;
  const filter = Number(document.getElementById('backward-filter').value) || 0;
  const query = new URLSearchParams({ filter: String(filter) });
  if (layer) query.set('layer', layer);
  try {
    const result = await postBlob(`/api/teach/backward?${query}`, blob || await snapshot());
    if (ticket !== undefined && ticket !== pending) return;
    backwardCard.hidden = false;
    renderBackward(result);
  } catch (error) {
    if (ticket === undefined || ticket === pending) showError(errorBox, error);
  }
}

// The clicked cell, and a timer that slides it along its map (the window moving over the layer's input).
let cell = null;
let sliding = null;

async function showCell() {
  const query = new URLSearchParams({ layer: cell.layer, channel: cell.channel, y: cell.y, x: cell.x });
  try {
    const result = await postBlob(`/api/teach/neuron?${query}`, await snapshot());
    showNeuron(result, explained);
    cell.shape = result.shape;
    const controls = document.createElement('div');
    controls.className = 'controls';
    const play = document.createElement('button');
    play.textContent = sliding ? 'Pause' : 'Slide along the map';
    play.dataset.testid = 'neuron-slide';
    play.setAttribute('data-testid', 'neuron-slide');
    play.addEventListener('click', () => (sliding ? stopSliding() : startSliding()));
    const step = document.createElement('button');
    step.textContent = 'Next cell';
    step.setAttribute('data-testid', 'neuron-step');
    step.addEventListener('click', () => { stopSliding(); nextCell(); });
    controls.append(play, step);
    document.getElementById('neuron').prepend(controls);
  } catch (error) { stopSliding(); showError(errorBox, error); }
}

function nextCell() {
  if (!cell || !cell.shape) return;
  const [, h, w] = cell.shape;
  cell.x += 1;
  if (cell.x >= w) { cell.x = 0; cell.y = (cell.y + 1) % h; }
  showCell();
}

function startSliding() { sliding = setInterval(nextCell, 700); showCell(); }
function stopSliding() { clearInterval(sliding); sliding = null; }

async function clickMap(event) {
  const img = event.target;
  if (img.tagName !== 'IMG' || !img.dataset.layer || !explained) return;
  const box = img.getBoundingClientRect();
  const px = Math.floor((event.clientX - box.left) * img.naturalWidth / box.width);
  const py = Math.floor((event.clientY - box.top) * img.naturalHeight / box.height);
  const h = Number(img.dataset.cellh), w = Number(img.dataset.cellw), columns = Number(img.dataset.columns);
  const column = Math.floor(px / (w + 1)), row = Math.floor(py / (h + 1));
  const x = px % (w + 1), y = py % (h + 1);
  const channel = row * columns + column;
  if (x >= w || y >= h || channel >= Number(img.dataset.shown)) return;   // a gap between maps
  stopSliding();
  cell = { layer: img.dataset.layer, channel, y, x };
  await showCell();
}

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
  document.getElementById('draw-maps').addEventListener('click', clickMap);
  for (const id of ['backward-layer', 'backward-filter']) {
    document.getElementById(id).addEventListener('change', () => { if (inked) backward(null); });
  }
  window.addEventListener('served-changed', () => { if (inked) ask(true); });
}

const askSoon = debounce(() => ask(false), 120);
