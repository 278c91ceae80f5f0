// Pictures shared by the Draw and Inspect pages: probability bars, feature maps, heat maps.
import { el, percent } from './api.js';

export function renderBars(container, top, { big = false } = {}) {
  container.replaceChildren();
  if (big && top.length) {
    container.append(el('div', { class: 'best' }, top[0].label, ' ',
                        el('small', { text: `${percent(top[0].probability)} sure` })));
  }
  top.forEach((entry, i) => {
    const fill = el('div', { class: 'fill' });
    fill.style.width = `${(100 * entry.probability).toFixed(1)}%`;
    container.append(el('div', { class: i === 0 ? 'bar first' : 'bar' },
                        el('span', { text: entry.label }),
                        el('div', { class: 'track' }, fill),
                        el('span', { class: 'value', text: percent(entry.probability) })));
  });
  container.dataset.label = top.length ? top[0].label : '';
}

// Each grid is enlarged so that one map (or filter) is about 56 pixels wide whatever its resolution.
export function renderMaps(container, layers) {
  container.replaceChildren();
  for (const layer of layers) {
    const img = el('img', { alt: `feature maps of ${layer.name}` });
    img.src = layer.image;
    img.dataset.layer = layer.name;
    img.dataset.cellh = layer.shape[layer.shape.length - 2];
    img.dataset.cellw = layer.shape[layer.shape.length - 1];
    img.dataset.columns = layer.columns || Math.min(layer.channels_shown || layer.shape[0], 8);
    img.dataset.shown = layer.channels_shown || layer.shape[0];
    const cell = layer.shape[layer.shape.length - 1];
    const scale = Math.max(1, Math.min(12, Math.round(56 / cell)));
    img.onload = () => { img.style.width = `${img.naturalWidth * scale}px`; };
    const shape = layer.shape.join('×');
    const shown = layer.channels_shown && layer.channels_shown < layer.shape[0]
      ? ` (first ${layer.channels_shown})` : '';
    container.append(el('figure', { 'data-layer': layer.name }, el('div', { class: 'overlay-host' }, img),
                        el('figcaption', { text: `${layer.name} ${shape}${shown}` })));
  }
}

export function renderExplanation(result, parts) {
  if (parts.input) { parts.input.src = result.input; parts.input.hidden = false; }
  parts.saliency.src = result.saliency;
  parts.saliency.hidden = false;
  if (result.grad_cam) {
    parts.gradcam.src = result.grad_cam;
    parts.gradcam.hidden = false;
    parts.gradcamCaption.textContent = `Grad-CAM at ${result.grad_cam_layer}: the regions that `
      + `made the model say ${result.target}`;
  }
  renderMaps(parts.maps, result.feature_maps);
}
