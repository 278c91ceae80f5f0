// The teaching views: a clicked cell's arithmetic and receptive field, the backward pass,
// and the convolution animation. Every number shown comes from the server (striate's own ops).
import { postJSON, el, showError } from './api.js';

const fmt = (v, digits = 3) => (v === null || v === undefined ? '–'
  : Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001) ? Number(v).toExponential(2) : String(+Number(v).toFixed(digits)));

// A small table of numbers; marked(r, c) gives a cell a class.
export function numberGrid(matrix, marked = () => '') {
  const table = el('table', { class: 'nums' });
  matrix.forEach((row, r) => table.append(el('tr', {}, ...row.map((v, c) => el('td', { class: marked(r, c), text: fmt(v, 2) })))));
  return table;
}

const examples = (list) => el('div', { class: 'muted small examples', text: `The same idea, step by step in code: ${list.join(', ')}.` });

// Put rectangles over an image at tile cells [{left, top, width, height}] in image pixels.
function mark(host, img, boxes, className) {
  for (const old of host.querySelectorAll(`.${className}`)) old.remove();
  const scale = img.clientWidth / img.naturalWidth;
  for (const b of boxes) {
    const div = el('div', { class: `mark ${className}` });
    Object.assign(div.style, { left: `${b.left * scale}px`, top: `${b.top * scale}px`,
                               width: `${b.width * scale}px`, height: `${b.height * scale}px` });
    host.append(div);
  }
}

function cellBox(img, channel, y, x) {
  const h = Number(img.dataset.cellh), w = Number(img.dataset.cellw), columns = Number(img.dataset.columns);
  const row = Math.floor(channel / columns), column = channel % columns;
  return { left: column * (w + 1) + x, top: row * (h + 1) + y, width: 1, height: 1 };
}

export function showNeuron(result, explained) {
  const panel = document.getElementById('neuron');
  panel.hidden = false;
  panel.replaceChildren();
  const rf = result.receptive_field;
  panel.dataset.layer = result.layer;
  panel.dataset.rf = rf.size.join('x');
  panel.dataset.box = JSON.stringify(rf.box);
  panel.append(el('h3', { text: `${result.layer} (${result.type}), channel ${result.channel}, cell (${result.y}, ${result.x}) = ${fmt(result.value, 4)}` }));
  // The receptive field on the model's input.
  const scale = 6;
  const [ih, iw] = rf.input_shape;
  const input = el('img', { class: 'pixel', alt: 'the model input with the receptive field' });
  input.src = explained.input;
  input.style.width = `${iw * scale}px`;
  input.style.height = `${ih * scale}px`;
  const box = el('div', { class: 'mark rf', 'data-testid': 'neuron-rf' });
  Object.assign(box.style, { left: `${rf.box[1][0] * scale}px`, top: `${rf.box[0][0] * scale}px`,
                             width: `${(rf.box[1][1] - rf.box[1][0] + 1) * scale}px`,
                             height: `${(rf.box[0][1] - rf.box[0][0] + 1) * scale}px` });
  const words = el('div', { class: 'small' });
  const clipped = rf.box.some(([low, high], axis) => high - low + 1 < rf.size[axis]);
  words.append(el('p', { text: `Receptive field: ${rf.size.join('×')} input pixels (as striate summary prints it), `
    + `built layer by layer as RF_out = RF_in + d·(k − 1)·jump_in; neighbouring cells of this layer are `
    + `${rf.jump.join('×')} input pixels apart. Drawn in orange over the model's input: `
    + `rows ${rf.box[0][0]}–${rf.box[0][1]}, columns ${rf.box[1][0]}–${rf.box[1][1]}`
    + `${clipped ? ' (cut at the image border: the rest of the field is padding)' : ''}.` }));
  const arithmetic = el('div', { class: 'arith', 'data-testid': 'neuron-arith' });
  if (result.kind === 'conv') {
    const shownChannels = Math.min(result.inputs.length, 3);
    arithmetic.append(el('p', { text: `${result.inputs.length} input channel(s) × ${result.weights[0].length}×${result.weights[0][0].length} weights: `
      + `each channel's inputs times its weights, summed (first ${shownChannels} shown):` }));
    for (let c = 0; c < shownChannels; c++) {
      arithmetic.append(el('div', { class: 'arith-row' }, numberGrid(result.inputs[c]), el('span', { text: '×' }),
        numberGrid(result.weights[c]), el('span', { text: `= Σ ${fmt(result.channel_sums[c], 4)}` })));
    }
    arithmetic.append(el('p', { class: 'sum-line', text: `Σ over channels: ${result.channel_sums.map((v) => fmt(v, 3)).join(' + ')} = ${fmt(result.sum, 4)}; `
      + `+ bias ${fmt(result.bias, 4)} = ${fmt(result.sum + result.bias, 4)} (striate's forward wrote ${fmt(result.value, 4)}). `
      + `This layer has ${result.param_formula} = ${result.params.toLocaleString('en-US')} parameters.` }));
  } else if (result.kind === 'maxpool') {
    const [wr, wc] = result.winner;
    arithmetic.append(el('p', { text: `Max pooling: the ${result.inputs.length}×${result.inputs[0].length} window below; the winner (marked) `
      + `is passed on, ${fmt(result.value, 4)}. In the backward pass only the winner receives gradient.` }),
    numberGrid(result.inputs, (r, c) => (r === wr && c === wc ? 'winner' : '')));
  } else {
    arithmetic.append(el('p', { text: `${result.function}(${fmt(result.input, 4)}) = ${fmt(result.value, 4)}` }));
  }
  const next = result.next;
  const nextWords = next
    ? `It feeds ${next.layer} (${next.type}): cell(s) ${next.cells.map((c) => `(${c.join(', ')})`).join(' ')}`
      + `${next.channels === 'all' ? ' of every channel' : ` of channel ${next.channels[0]}`} (marked in orange above).`
    : 'It is the last layer with a spatial map.';
  panel.append(el('div', { class: 'row' }, el('div', { class: 'overlay-host' }, input, box), el('div', { class: 'grow' }, words, arithmetic)),
               el('p', { class: 'small', text: nextWords, 'data-testid': 'neuron-next' }), examples(result.examples));
  // Highlight the clicked cell and the cells it feeds on the feature-map grids.
  for (const img of document.querySelectorAll('#draw-maps img')) {
    const host = img.parentElement;
    if (img.dataset.layer === result.layer) mark(host, img, [cellBox(img, result.channel, result.y, result.x)], 'clicked');
    else host.querySelectorAll('.clicked').forEach((n) => n.remove());
    if (next && img.dataset.layer === next.layer) {
      const channel = next.channels === 'all' ? 0 : next.channels[0];
      mark(host, img, next.cells.map(([y, x]) => cellBox(img, channel, y, x)), 'fed');
    } else host.querySelectorAll('.fed').forEach((n) => n.remove());
  }
}

export function renderBackward(result) {
  const select = document.getElementById('backward-layer');
  if (!select.options.length) {
    select.replaceChildren(...result.conv_layers.map((name) => el('option', { value: name, text: name })));
  }
  select.value = result.filter.layer;
  document.getElementById('backward-words').textContent = `The chain rule run backwards from the score of "${result.target}" `
    + '(its logit): each map is ∂score/∂(that layer\'s output), blue negative, white zero, red positive, each on its own scale. '
    + `See ${result.examples.join(' and ')}.`;
  const maps = document.getElementById('backward-maps');
  maps.replaceChildren(...result.layers.map((layer) => {
    const img = el('img', { alt: `gradient at ${layer.name}` });
    img.src = layer.image;
    const cell = layer.shape[layer.shape.length - 1];
    img.onload = () => { img.style.width = `${img.naturalWidth * Math.max(1, Math.min(12, Math.round(56 / cell)))}px`; };
    return el('figure', {}, img, el('figcaption', { text: `${layer.name} ${layer.shape.join('×')}, |max| ${fmt(layer.max_abs)}` }));
  }));
  const routing = document.getElementById('backward-routing');
  routing.replaceChildren();
  if (result.routing) {
    const r = result.routing;
    const img = el('img', { alt: 'gradient routed by max pooling', class: 'pixel' });
    img.src = r.image;
    img.onload = () => { img.style.width = `${img.naturalWidth * 3}px`; };
    routing.append(el('h3', { text: `Max pooling routes the gradient (${r.layer}, ${r.kernel.join('×')} windows)` }),
      el('figure', {}, img, el('figcaption', { text: 'the gradient arriving at the pooling layer\'s input: non-zero only at the cell that won each window' })));
  }
  const f = result.filter;
  const view = document.getElementById('backward-filter-view');
  const img = el('img', { alt: 'weight gradient', class: 'pixel' });
  img.src = f.image;
  img.onload = () => { img.style.width = `${img.naturalWidth * 12}px`; };
  view.replaceChildren(el('h3', { text: `∂score/∂weights of filter ${f.index} of ${f.layer} (one grid per input channel)` }),
    el('div', { class: 'row' }, img, numberGrid(f.weight_grad[0])));
}

// ------------------------------------------------------------------ the convolution animation

export class ConvView {
  constructor(request) {
    this.request = request;        // () => the Kernels page's current kernel options
    this.index = 0;
    this.timer = null;
    this.ticket = 0;
    this.data = null;
    this.play = document.getElementById('conv-play');
    this.play.addEventListener('click', () => (this.timer ? this.pause() : this.start()));
    document.getElementById('conv-step').addEventListener('click', () => { this.pause(); this.step(); });
    document.getElementById('conv-speed').addEventListener('change', () => { if (this.timer) { this.pause(); this.start(); } });
    document.getElementById('conv-bias').addEventListener('change', () => this.load());
  }

  async load() {
    let options;
    try { options = this.request(); } catch (error) { return; }
    const bias = Number(document.getElementById('conv-bias').value) || 0;
    const ticket = ++this.ticket;
    try {
      const data = await postJSON('/api/teach/conv', { ...options, bias });
      if (ticket !== this.ticket) return;   // a newer request is on its way
      this.data = data;
      this.index = Math.min(this.index, data.steps.length - 1);
      this.words();
      this.render();
    } catch (error) {
      if (ticket === this.ticket) showError(document.getElementById('kernel-error'), error);
    }
  }

  start() {
    this.play.textContent = 'Pause';
    this.timer = setInterval(() => this.step(), Number(document.getElementById('conv-speed').value));
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = 'Play';
  }

  step() {
    if (!this.data) return;
    this.index = (this.index + 1) % this.data.steps.length;
    this.render();
  }

  words() {
    const d = this.data;
    const k = d.kernel.length;
    document.getElementById('conv-words').replaceChildren(
      el('p', { text: `The photo shrunk to ${d.input_shape.join('×')} grey pixels, padded by ${d.pads[0][0]}+${d.pads[0][1]} rows and ${d.pads[1][0]}+${d.pads[1][1]} columns of zeros. `
        + `Output size per axis, ⌊(W − F + 2P) / S⌋ + 1 with F = d·(k − 1) + 1: rows ${d.formula[0]}, columns ${d.formula[1]}. `
        + `Each output cell is ${k * d.kernel[0].length} products summed plus the bias; such a layer (1 channel in, 1 out) has ${k}·${d.kernel[0].length} + 1 = ${k * d.kernel[0].length + 1} parameters.`
        + (d.mode === 'convolve' ? ' True convolution: the kernel is flipped first.' : '') }),
      examples(d.examples));
  }

  render() {
    const d = this.data;
    const s = d.steps[this.index];
    const rows = new Set(s.rows), cols = new Set(s.cols);
    const [top, left] = [d.pads[0][0], d.pads[1][0]];
    const [h, w] = d.input_shape;
    document.getElementById('conv-input').replaceChildren(numberGrid(d.padded, (r, c) => {
      const inside = rows.has(r) && cols.has(c) ? 'window' : '';
      const pad = r < top || r >= top + h || c < left || c >= left + w ? ' pad' : '';
      return inside + pad;
    }));
    document.getElementById('conv-output').replaceChildren(numberGrid(d.output.map((row, r) => row.map((v, c) => {
      const n = r * d.output_shape[1] + c;
      return n <= this.index ? v : null;
    })), (r, c) => (r === s.y && c === s.x ? 'current' : '')));
    document.getElementById('conv-position').textContent = `position ${this.index + 1} of ${d.steps.length}: output cell (${s.y}, ${s.x})`;
    const arith = document.getElementById('conv-arith');
    arith.dataset.y = s.y;
    arith.dataset.x = s.x;
    arith.dataset.patch = JSON.stringify(s.patch);
    arith.dataset.kernel = JSON.stringify(d.kernel);
    arith.dataset.bias = String(d.bias);
    arith.dataset.sum = String(s.sum);
    arith.dataset.output = String(s.output);
    arith.replaceChildren(el('div', { class: 'arith-row' },
      el('figure', {}, numberGrid(s.patch), el('figcaption', { text: 'patch' })), el('span', { text: '⊙' }),
      el('figure', {}, numberGrid(d.kernel), el('figcaption', { text: 'kernel' })), el('span', { text: '=' }),
      el('figure', {}, numberGrid(s.products), el('figcaption', { text: 'products' }))),
    el('p', { class: 'sum-line', text: `Σ products = ${fmt(s.sum, 4)}; + bias ${fmt(d.bias, 4)} = ${fmt(s.output, 4)} → output cell (${s.y}, ${s.x})` }));
  }
}
