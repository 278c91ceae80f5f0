// Train: start and stop a training job; its per-batch loss and accuracy stream in as server-sent events.
import { getJSON, postJSON, showError, el, percent } from './api.js';
import { Curve } from './chart.js';
import { refreshBadge } from './main.js';

const form = document.getElementById('train-form');
const startButton = document.getElementById('train-start');
const stopButton = document.getElementById('train-stop');
const status = document.getElementById('train-status');
const errorBox = document.getElementById('train-error');
const table = document.querySelector('#train-epochs-table tbody');
const curve = new Curve(document.getElementById('train-curve'));
const live = document.getElementById('train-live');
let source = null;
let batches = 1;

const number = (id) => {
  const text = document.getElementById(id).value.trim();
  return text === '' ? null : Number(text);
};

function running(on) {
  startButton.disabled = on;
  stopButton.disabled = !on;
}

function onEvent(event) {
  if (event.type === 'start') {
    batches = event.batches;
    curve.reset(event.epochs * event.batches);
    table.replaceChildren();
    running(true);
    status.textContent = `Training ${event.config.model} on ${event.config.dataset} into ${event.run}…`;
  } else if (event.type === 'batch') {
    curve.addBatch(event.step, event.loss, event.accuracy);
    status.textContent = `Epoch ${event.epoch}, batch ${event.batch} of ${batches}: loss ${event.loss.toFixed(3)}, `
      + `accuracy ${percent(event.accuracy)}`;
  } else if (event.type === 'epoch') {
    curve.addEpoch(event.epoch * batches, event.test_acc);
    const cell = (v, f) => el('td', { text: v == null ? '–' : f(v) });
    table.append(el('tr', {}, el('td', { text: String(event.epoch) }), cell(event.train_loss, (v) => v.toFixed(4)),
                    cell(event.train_acc, percent), cell(event.test_loss, (v) => v.toFixed(4)),
                    cell(event.test_acc, percent), cell(event.seconds, (v) => v.toFixed(1))));
  } else if (event.type === 'snapshot') {
    live.hidden = false;
    const filters = document.getElementById('train-filters');
    const maps = document.getElementById('train-maps');
    filters.src = event.filters;
    maps.src = event.maps;
    filters.dataset.epoch = String(event.epoch);
    const when = event.epoch === 0 ? 'before training' : `after epoch ${event.epoch}`;
    document.getElementById('train-filters-caption').textContent = `${event.layer}'s filters ${when} (input channels averaged; blue negative, red positive)`;
    document.getElementById('train-maps-caption').textContent = `${event.layer}'s feature maps of one fixed test image, ${when}`;
    document.getElementById('train-live-words').textContent = 'Gradient descent changes every weight a little each batch: '
      + 'w ← w − lr · ∂loss/∂w. The filters start as random noise and grow into edge and stroke detectors; '
      + 'the maps show what each filter now sees in the same image. The same pictures, from a finished run: '
      + 'examples/13_lenet_filters_and_maps.py.';
  } else if (event.type === 'done') {
    running(false);
    status.textContent = event.message;
    status.dataset.state = event.state;
    refreshBadge();
  }
}

// Follow the current job from its first event; the stream ends with "end" once the job is over.
function follow() {
  if (source) source.close();
  source = new EventSource('/api/train/stream?since=0');
  source.onmessage = (message) => onEvent(JSON.parse(message.data));
  source.addEventListener('end', () => { source.close(); source = null; });
  source.onerror = () => { if (source) { source.close(); source = null; } };
}

async function startJob(event) {
  event.preventDefault();
  const request = {
    model: document.getElementById('train-model').value.trim(),
    dataset: document.getElementById('train-dataset').value,
    epochs: number('train-epochs'), lr: number('train-lr'), batch_size: number('train-batch'),
    limit: number('train-limit'), augment: document.getElementById('train-augment').checked,
  };
  try {
    running(true);
    await postJSON('/api/train/start', request);
    showError(errorBox, null);
    follow();
    refreshBadge();
  } catch (error) {
    if (error.status !== 409) running(false);
    showError(errorBox, error);
  }
}

export async function start() {
  const { datasets } = await getJSON('/api/datasets');
  document.getElementById('train-dataset').replaceChildren(...datasets.map((d) => el('option', { value: d, text: d })));
  form.addEventListener('submit', startJob);
  stopButton.addEventListener('click', async () => {
    try { await postJSON('/api/train/stop', {}); status.textContent = 'Stopping after this batch…'; }
    catch (error) { showError(errorBox, error); }
  });
  const current = await getJSON('/api/train/status');
  if (current.events) follow();   // a job is running or has run: show it
}
