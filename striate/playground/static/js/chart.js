// A small line chart on a canvas: loss (left axis) and accuracy (right axis, 0..1) against the batch step.
const COLORS = { loss: '#d9480f', acc: '#2f6fde', test: '#2b8a3e', grid: '#e3e6eb', text: '#6b7280' };

export class Curve {
  constructor(canvas) {
    this.canvas = canvas;
    this.reset(1);
    window.addEventListener('resize', () => this.scheduleDraw());
  }

  reset(totalSteps) {
    this.total = Math.max(1, totalSteps);
    this.batches = [];   // {step, loss, accuracy}
    this.epochs = [];    // {step, accuracy}
    this.canvas.dataset.points = '0';
    this.draw();
  }

  addBatch(step, loss, accuracy) {
    this.batches.push({ step, loss, accuracy });
    this.canvas.dataset.points = String(this.batches.length);
    this.scheduleDraw();
  }

  addEpoch(step, accuracy) {
    if (accuracy == null) return;
    this.epochs.push({ step, accuracy });
    this.scheduleDraw();
  }

  scheduleDraw() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => { this.queued = false; this.draw(); });
  }

  draw() {
    const { canvas } = this;
    // Drawn at the size it is shown (times the pixel ratio), so that labels stay 12 px on a phone too.
    const ratio = window.devicePixelRatio || 1;
    const W = canvas.clientWidth || 640, H = Math.round(W * 300 / 640);
    if (canvas.width !== Math.round(W * ratio)) {
      canvas.width = Math.round(W * ratio);
      canvas.height = Math.round(H * ratio);
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    const left = 46, right = 46, top = 14, bottom = 30;
    const plotW = W - left - right, plotH = H - top - bottom;
    const maxLoss = Math.max(0.5, ...this.batches.map((b) => (Number.isFinite(b.loss) ? b.loss : 0)));
    const x = (step) => left + plotW * step / this.total;
    const yLoss = (v) => top + plotH * (1 - Math.min(v, maxLoss) / maxLoss);
    const yAcc = (v) => top + plotH * (1 - v);
    g.clearRect(0, 0, W, H);
    g.font = '12px system-ui, sans-serif';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH * i / 4;
      g.strokeStyle = COLORS.grid;
      g.beginPath(); g.moveTo(left, y); g.lineTo(W - right, y); g.stroke();
      g.fillStyle = COLORS.loss; g.textAlign = 'right';
      g.fillText((maxLoss * (1 - i / 4)).toFixed(2), left - 6, y + 4);
      g.fillStyle = COLORS.acc; g.textAlign = 'left';
      g.fillText(`${100 - 25 * i}%`, W - right + 6, y + 4);
    }
    g.fillStyle = COLORS.text; g.textAlign = 'center';
    g.fillText(this.batches.length ? `batch (${this.total} in all)` : 'batch', left + plotW / 2, H - 8);
    if (!this.batches.length) {
      g.fillText('The curves appear here while a model trains.', left + plotW / 2, top + plotH / 2);
      return;
    }
    const line = (key, y, color) => {
      g.strokeStyle = color; g.lineWidth = 1.6; g.beginPath();
      this.batches.forEach((b, i) => (i ? g.lineTo(x(b.step), y(b[key])) : g.moveTo(x(b.step), y(b[key]))));
      g.stroke();
    };
    line('loss', yLoss, COLORS.loss);
    line('accuracy', yAcc, COLORS.acc);
    g.fillStyle = COLORS.test;
    for (const e of this.epochs) { g.beginPath(); g.arc(x(e.step), yAcc(e.accuracy), 4.5, 0, 2 * Math.PI); g.fill(); }
  }
}
