// The page's router: one section per hash (#draw, #kernels, ...), each module started on first visit.
// Also the run picker: the served run changes only when the learner picks one here.
import { getJSON, postJSON, el, percent } from './api.js';

const pages = {
  draw: () => import('./draw.js'),
  kernels: () => import('./kernels.js'),
  train: () => import('./train.js'),
  inspect: () => import('./inspect.js'),
  architecture: () => import('./architecture.js'),
};
const started = {};
const picker = document.getElementById('run-picker');
const about = document.getElementById('served-about');

async function show() {
  const name = (location.hash || '#draw').slice(1);
  const page = name in pages ? name : 'draw';
  for (const section of document.querySelectorAll('[data-page]')) section.hidden = section.dataset.page !== page;
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.getAttribute('href') === `#${page}`);
  const module = await pages[page]();
  if (!started[page]) { started[page] = true; await module.start(); }
  else if (module.shown) module.shown();
  document.body.dataset.ready = page;
}

const describe = (run) => `${run.model || '?'} on ${run.dataset || '?'}`
  + (run.accuracy != null ? `, ${percent(run.accuracy)} test accuracy` : '')
  + (run.epochs != null ? `, ${run.epochs} epoch${run.epochs === 1 ? '' : 's'}` : '')
  + (run.date ? `, ${run.date}` : '');

// The runs in the picker, the served one selected and described beside it.
export async function refreshRuns() {
  try {
    const { runs } = await getJSON('/api/runs');
    const served = runs.find((run) => run.served);
    const chosen = picker.value;
    picker.replaceChildren(...(served ? [] : [el('option', { value: '', text: 'no model yet' })]),
      ...runs.map((run) => el('option', { value: run.run, text: `${run.run} (${describe(run)})` })));
    picker.value = served ? served.run : '';
    if (!served && chosen) picker.value = '';
    about.textContent = served ? `trained: ${describe(served)}` : 'no trained model yet';
    about.dataset.run = served ? served.run : '';
    document.body.dataset.served = served ? served.run : '';
  } catch (error) {
    about.textContent = `the runs cannot be listed: ${error.message}`;
  }
}

export async function refreshBadge() {
  const badge = document.getElementById('model-badge');
  try {
    const health = await getJSON('/api/health');
    badge.textContent = health.model ? `model: ${health.model}` : 'no model yet';
    if (health.training) badge.append(el('span', { text: ' · training' }));
    const before = document.body.dataset.served || '';
    await refreshRuns();   // a finished run joins the picker (it is served only when picked)
    if ((health.model || '') !== before) window.dispatchEvent(new CustomEvent('served-changed'));
  } catch (error) {
    badge.textContent = 'server unreachable';
  }
}

// Calls back once the server serves a model (polling while it has none, e.g. the first training runs).
let waiting = null;
export function whenModelReady() {
  if (!waiting) {
    waiting = new Promise((resolve) => {
      const poll = async () => {
        try {
          const health = await getJSON('/api/health');
          if (health.model) { waiting = null; await refreshRuns(); resolve(health.model); return; }
        } catch (_) { /* the server may be starting: try again */ }
        setTimeout(poll, 1500);
      };
      poll();
    });
  }
  return waiting;
}

async function pick() {
  if (!picker.value) return;
  try {
    await postJSON('/api/runs/select', { run: picker.value });
    await refreshRuns();
    refreshBadge();
    window.dispatchEvent(new CustomEvent('served-changed'));
  } catch (error) {
    about.textContent = error.message;
  }
}

async function fillModelNames() {
  const { models } = await getJSON('/api/models');
  document.getElementById('model-names').replaceChildren(...models.map((name) => el('option', { value: name })));
}

picker.addEventListener('change', pick);
window.addEventListener('hashchange', show);
refreshRuns().then(refreshBadge);
fillModelNames();
show();
