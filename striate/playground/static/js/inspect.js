// Inspect: the served model's filters, confusion matrix, most confidently wrong test images,
// and any test image's feature maps, saliency and Grad-CAM.
import { getJSON, showError, el, percent, thousands } from './api.js';
import { renderBars, renderExplanation, renderMaps } from './views.js';
import { whenModelReady } from './main.js';

const errorBox = document.getElementById('inspect-error');
const indexInput = document.getElementById('inspect-index');
let count = null;

function confusion(result) {
  const table = document.getElementById('inspect-confusion');
  const peak = Math.max(1, ...result.matrix.flat());
  const head = el('tr', {}, el('th', { text: '', title: 'rows: true class; columns: predicted class' }), ...result.classes.map((c) => el('th', { text: c })));
  const rows = result.matrix.map((row, i) => el('tr', {}, el('th', { text: result.classes[i] }),
    ...row.map((n, j) => {
      const cell = el('td', { text: n ? String(n) : '', title: `true ${result.classes[i]}, said ${result.classes[j]}: ${n}` });
      const strength = n / peak;
      cell.style.background = i === j ? `rgba(43, 138, 62, ${0.12 + 0.6 * strength})`
                                      : n ? `rgba(180, 35, 24, ${0.15 + 0.85 * Math.sqrt(strength)})` : '#f7f8fa';
      if (strength > 0.55) cell.style.color = '#fff';
      return cell;
    })));
  table.replaceChildren(head, ...rows);
  document.getElementById('inspect-accuracy').textContent =
    `Accuracy ${percent(result.accuracy)} on ${thousands(result.images)}` +
    (result.split_images > result.images ? ` of the ${thousands(result.split_images)} test images (spread over the split)` : ' test images') +
    '; rows are the true class, columns the predicted one.';
}

function wrong(images) {
  const box = document.getElementById('inspect-wrong');
  if (!images.length) { box.replaceChildren(el('div', { class: 'muted', text: 'No mistakes on these test images.' })); return; }
  box.replaceChildren(...images.map((image) => {
    const img = el('img', { alt: `test image ${image.index}` });
    img.src = image.image;
    const thumb = el('button', { class: 'thumb', title: `test image ${image.index}` }, img,
                     el('span', { text: `true ${image.label}` }),
                     el('span', { class: 'said', text: `said ${image.predicted} ${percent(image.probability)}` }));
    thumb.addEventListener('click', () => { indexInput.value = image.index; showImage(); });
    return thumb;
  }));
}

async function showImage() {
  let index = Math.max(0, Math.floor(Number(indexInput.value) || 0));
  if (count != null) index = Math.min(index, count - 1);
  indexInput.value = index;
  try {
    const result = await getJSON(`/api/inspect/image?index=${index}`);
    count = result.count;
    indexInput.max = count - 1;
    document.getElementById('inspect-label').textContent = `true label ${result.label}, one of ${thousands(count)} test images`;
    renderBars(document.getElementById('inspect-top'), result.top);
    renderExplanation(result, {
      input: document.getElementById('inspect-input'),
      saliency: document.getElementById('inspect-saliency'),
      gradcam: document.getElementById('inspect-gradcam'),
      gradcamCaption: document.getElementById('inspect-gradcam-caption'),
      maps: document.getElementById('inspect-maps'),
    });
  } catch (error) { showError(errorBox, error); }
}

async function load() {
  try {
    const info = await getJSON('/api/model');
    document.getElementById('inspect-model').textContent =
      `${info.title}: run ${info.run}, ${info.epochs} epochs, input ${info.input_shape.join('×')}.`;
    const filters = await getJSON('/api/inspect/filters');
    renderMaps(document.getElementById('inspect-filters'), filters.layers);
    confusion(await getJSON('/api/inspect/confusion'));
    wrong((await getJSON('/api/inspect/wrong?count=12')).images);
    await showImage();
    showError(errorBox, null);
  } catch (error) {
    showError(errorBox, error);
    if (error.status === 503) whenModelReady().then(load);   // no model yet: load by itself once there is one
  }
}

export async function start() {
  document.getElementById('inspect-prev').addEventListener('click', () => { indexInput.value = Number(indexInput.value) - 1; showImage(); });
  document.getElementById('inspect-next').addEventListener('click', () => { indexInput.value = Number(indexInput.value) + 1; showImage(); });
  indexInput.addEventListener('change', showImage);
  window.addEventListener('served-changed', load);
  await load();
}

export function shown() { load(); }
