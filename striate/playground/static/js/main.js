// The page's router: one section per hash (#draw, #kernels, ...), each module started on first visit.
import { getJSON, el } from './api.js';

const pages = {
  draw: () => import('./draw.js'),
  kernels: () => import('./kernels.js'),
  train: () => import('./train.js'),
  inspect: () => import('./inspect.js'),
  architecture: () => import('./architecture.js'),
};
const started = {};

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

export async function refreshBadge() {
  const badge = document.getElementById('model-badge');
  try {
    const health = await getJSON('/api/health');
    badge.textContent = health.model ? `model: ${health.model}` : 'no model yet';
    if (health.training) badge.append(el('span', { text: ' · training' }));
  } catch (error) {
    badge.textContent = 'server unreachable';
  }
}

async function fillModelNames() {
  const { models } = await getJSON('/api/models');
  document.getElementById('model-names').replaceChildren(...models.map((name) => el('option', { value: name })));
}

window.addEventListener('hashchange', show);
refreshBadge();
fillModelNames();
show();
