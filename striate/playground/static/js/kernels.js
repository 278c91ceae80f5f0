// Kernels: an editable kernel over a photo, with stride, padding, dilation and the output size.
import { getJSON, postJSON, showError, debounce, el } from './api.js';
import { ConvView } from './teach.js';

const grid = document.getElementById('kernel-grid');
const preset = document.getElementById('kernel-preset');
const sizeSelect = document.getElementById('kernel-size-select');
const output = document.getElementById('kernel-output');
const inputImage = document.getElementById('kernel-input');
const errorBox = document.getElementById('kernel-error');
const DISPLAY = 256;      // the input photo is shown this wide; the output at the same scale
let presets = {};
let photo = 'sample';     // or a data URL of an uploaded photo, shrunk in the browser
let inputSize = [256, 256];
let ticket = 0;           // only the answer to the latest request is shown
let conv = null;

const pretty = (name) => name.replace(/_/g, ' ');
const format = (v) => (Number.isInteger(v) ? String(v) : String(+v.toFixed(4)));

// A 3x3 preset in a 5x5 grid sits in the middle, surrounded by zeros.
function setGrid(matrix, size) {
  const offset = Math.floor((size - matrix.length) / 2);
  grid.style.gridTemplateColumns = `repeat(${size}, auto)`;
  grid.replaceChildren();
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const inside = r - offset >= 0 && r - offset < matrix.length && c - offset >= 0 && c - offset < matrix.length;
      const value = inside ? matrix[r - offset][c - offset] : 0;
      grid.append(el('input', { type: 'text', inputmode: 'decimal', value: format(value),
                                'data-testid': `kernel-cell-${r}-${c}`, 'aria-label': `row ${r + 1} column ${c + 1}` }));
    }
  }
}

// Cells accept numbers and fractions such as 1/9; the page says which cell is wrong.
function readGrid() {
  const size = Number(sizeSelect.value);
  const cells = [...grid.querySelectorAll('input')];
  const matrix = [];
  for (let r = 0; r < size; r++) {
    const row = [];
    for (let c = 0; c < size; c++) {
      const cell = cells[r * size + c];
      const text = cell.value.trim();
      const parts = text.split('/');
      const value = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(text);
      if (text === '' || !Number.isFinite(value)) {
        throw new Error(`row ${r + 1}, column ${c + 1}: "${text}" is not a number (write -1, 0.5 or 1/9)`);
      }
      row.push(value);
    }
    matrix.push(row);
  }
  return matrix;
}

function padding() {
  const value = document.getElementById('kernel-padding').value;
  return value === 'same' || value === 'valid' ? value : Number(value);
}

function currentRequest() {
  return { kernel: readGrid(), mode: document.getElementById('kernel-mode').value, padding: padding(),
           stride: Number(document.getElementById('kernel-stride').value),
           dilation: Number(document.getElementById('kernel-dilation').value), image: photo };
}

async function update() {
  let request;
  try {
    request = currentRequest();
  } catch (error) { showError(errorBox, error); return; }
  const mine = ++ticket;
  if (conv) conv.load();
  try {
    const result = await postJSON('/api/kernel', request);
    if (mine !== ticket) return;   // an older request answered late: a newer one is on its way
    showError(errorBox, null);
    inputSize = result.input_shape;
    const scale = DISPLAY / Math.max(...inputSize);
    inputImage.style.width = `${Math.round(inputSize[1] * scale)}px`;
    output.src = result.image;
    output.hidden = false;
    output.style.width = `${Math.max(1, Math.round(result.output_shape[1] * scale))}px`;
    const [h, w] = inputSize;
    const [oh, ow] = result.output_shape;
    const k = request.kernel.length;
    const f = request.dilation * (k - 1) + 1;
    const p = request.padding === 'same' ? 'same' : request.padding === 'valid' ? 0 : request.padding;
    const pad = p === 'same' ? `${f - 1} (same)` : `2·${p}`;
    const formula = `= ⌊(${w} − ${f} + ${pad}) / ${request.stride}⌋ + 1`;
    document.getElementById('kernel-size').textContent = `Output ${oh} × ${ow}  ${formula}`;
    document.getElementById('kernel-size').dataset.size = `${oh}x${ow}`;
    document.getElementById('kernel-input-size').textContent = `Input ${h} × ${w}`;
    const signed = result.scale.map === 'diverging';
    output.dataset.map = result.scale.map;
    document.getElementById('kernel-range').textContent = signed
      ? `Output values run from ${result.min.toFixed(2)} to ${result.max.toFixed(2)}: signed, so drawn blue below zero, `
        + `white at zero and red above (scale ±${result.scale.high.toFixed(2)}; beyond it, the end colours).`
      : `Output values run from ${result.min.toFixed(2)} to ${result.max.toFixed(2)}; shown clipped to 0…1 (black…white).`;
    const legend = document.getElementById('kernel-scale');
    legend.hidden = !signed;
    legend.dataset.low = String(result.scale.low);
    legend.dataset.high = String(result.scale.high);
    document.getElementById('kernel-scale-low').textContent = result.scale.low.toFixed(2);
    document.getElementById('kernel-scale-high').textContent = `+${result.scale.high.toFixed(2)}`;
    output.dataset.request = String(mine);
    output.dataset.dilation = String(request.dilation);
  } catch (error) { if (mine === ticket) showError(errorBox, error); }
}
const updateSoon = debounce(update, 120);

function choosePreset() {
  setGrid(presets[preset.value], Number(sizeSelect.value));
  update();
}

// An uploaded photo is shrunk in the browser (at most 512 pixels a side) before it is sent.
function upload(file) {
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.onload = () => {
    const scale = Math.min(1, 512 / Math.max(image.width, image.height));
    const canvas = el('canvas');
    canvas.width = Math.max(1, Math.round(image.width * scale));
    canvas.height = Math.max(1, Math.round(image.height * scale));
    canvas.getContext('2d').drawImage(image, 0, 0, canvas.width, canvas.height);
    photo = canvas.toDataURL('image/png');
    inputImage.src = photo;
    URL.revokeObjectURL(url);
    update();
  };
  image.onerror = () => showError(errorBox, new Error(`${file.name} is not an image the browser can read`));
  image.src = url;
}

export async function start() {
  presets = (await getJSON('/api/kernels')).kernels;
  preset.replaceChildren(...Object.keys(presets).map((name) => el('option', { value: name, text: pretty(name) })));
  preset.value = 'sharpen';
  inputImage.src = '/api/kernel/sample';
  setGrid(presets[preset.value], 3);
  conv = new ConvView(currentRequest);
  preset.addEventListener('change', choosePreset);
  sizeSelect.addEventListener('change', choosePreset);
  grid.addEventListener('input', updateSoon);
  for (const id of ['kernel-mode', 'kernel-padding', 'kernel-stride', 'kernel-dilation']) {
    document.getElementById(id).addEventListener('change', update);
  }
  document.getElementById('kernel-upload').addEventListener('change', (event) => {
    if (event.target.files.length) upload(event.target.files[0]);
  });
  document.getElementById('kernel-sample').addEventListener('click', () => {
    photo = 'sample';
    inputImage.src = '/api/kernel/sample';
    update();
  });
  await update();
}
