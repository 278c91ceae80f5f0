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
    const cell = layer.shape[layer.shape.length - 1];
    const scale = Math.max(1, Math.min(12, Math.round(56 / cell)));
    img.onload = () => { img.style.width = `${img.naturalWidth * scale}px`; };
    const shape = layer.shape.join('×');
    const shown = layer.channels_shown && layer.channels_shown < layer.shape[0]
      ? ` (first ${layer.channels_shown})` : '';
    container.append(el('figure', {}, img, el('figcaption', { text: `${layer.name} ${shape}${shown}` })));
  }
}

export function renderExplanation(result, parts) {
  parts.input && (parts.input.src = result.input);
  parts.saliency.src = result.saliency;
  if (result.grad_cam) {
    parts.gradcam.src = result.grad_cam;
    parts.gradcamCaption.textContent = `Grad-CAM at ${result.grad_cam_layer}: the regions that `
      + `made the model say ${result.target}`;
  }
  renderMaps(parts.maps, result.feature_maps);
}
