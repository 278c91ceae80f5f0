// Architecture: the summary table of a zoo model at an editable input size.
import { getJSON, showError, el, thousands } from './api.js';

const form = document.getElementById('summary-form');
const table = document.getElementById('summary-table');
const errorBox = document.getElementById('summary-error');

const shape = (s) => (Array.isArray(s) ? `[${s.join(', ')}]` : String(s));
const field = (rf) => (rf ? (rf[0] === rf[1] ? String(rf[0]) : rf.join('×')) : '–');

async function show(event) {
  if (event) event.preventDefault();
  const model = document.getElementById('summary-model').value.trim();
  const input = document.getElementById('summary-input').value.replace(/\s+/g, '');
  const query = new URLSearchParams({ model });
  if (input) query.set('input', input);
  table.dataset.loading = 'true';
  try {
    const result = await getJSON(`/api/summary?${query}`);
    showError(errorBox, null);
    document.getElementById('summary-input').placeholder = result.input_shape.join(',');
    const head = el('thead', {}, el('tr', {}, ...['Layer', 'Type', 'Output shape', 'Param #', 'Mult-adds', 'Receptive field']
      .map((t) => el('th', { text: t }))));
    const body = el('tbody', {}, ...result.rows.map((row) => el('tr', {},
      el('td', { text: row.name }), el('td', { text: row.type }), el('td', { text: shape(row.output_shape) }),
      el('td', { text: thousands(row.params), 'data-column': 'params' }),
      el('td', { text: row.mult_adds ? thousands(row.mult_adds) : '–' }),
      el('td', { text: field(row.receptive_field) }))));
    table.replaceChildren(head, body);
    document.getElementById('summary-totals').textContent =
      `${result.model} at ${result.input_shape.join('×')}: ${thousands(result.total_params)} parameters `
      + `(${thousands(result.trainable_params)} trainable), ${thousands(result.total_mult_adds)} mult-adds per image, `
      + `${result.activations_mb.toFixed(1)} MB of activations.`;
  } catch (error) {
    table.replaceChildren();   // never the previous model's table under this model's error
    document.getElementById('summary-totals').textContent = '';
    showError(errorBox, error);
  } finally {
    table.dataset.loading = 'false';
  }
}

export async function start() {
  form.addEventListener('submit', show);
  await show();
}
