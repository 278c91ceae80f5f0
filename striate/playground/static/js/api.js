// Calls to the playground's JSON API: every failure becomes an Error carrying the server's message.

async function answer(response) {
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON: reported below */ }
  if (!response.ok) {
    const message = body && body.error ? body.error : `${response.status} ${response.statusText}`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

export async function getJSON(url) {
  return answer(await fetch(url));
}

export async function postJSON(url, value) {
  return answer(await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                   body: JSON.stringify(value) }));
}

export async function postBlob(url, blob) {
  return answer(await fetch(url, { method: 'POST', headers: { 'Content-Type': blob.type || 'application/octet-stream' },
                                   body: blob }));
}

export function showError(element, error) {
  if (!error) { element.hidden = true; element.textContent = ''; return; }
  element.hidden = false;
  element.textContent = error.message || String(error);
}

// fn called once, ms after the last call; .cancel() drops a call still waiting.
export function debounce(fn, ms) {
  let timer = null;
  const call = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  call.cancel = () => clearTimeout(timer);
  return call;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export const percent = (p) => `${(100 * p).toFixed(1)}%`;
export const thousands = (n) => Number(n).toLocaleString('en-US');
