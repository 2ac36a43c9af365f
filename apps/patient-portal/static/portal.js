// The portal page's behaviour (served as a file: the CSP allows no inline script).
// One key per booking, not per click: a retry or a second click with the same details
// reuses it, so the service replays instead of booking twice. The key is kept (also across
// a reload) until the answer is definitive; changing the details starts a new booking.
// randomUUID exists only in secure contexts (https, localhost): fall back elsewhere.
function newKey() {
  return self.crypto && crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
}
const PENDING = 'medgate-pending-booking';
function keyFor(details) {
  const fp = JSON.stringify(details);
  let p = null;
  try { p = JSON.parse(sessionStorage.getItem(PENDING)); } catch (e) {}
  if (!p || p.fp !== fp) {
    p = {fp, key: newKey()};
    try { sessionStorage.setItem(PENDING, JSON.stringify(p)); } catch (e) {}
  }
  return p.key;
}
function settled() { try { sessionStorage.removeItem(PENDING); } catch (e) {} }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Sends until the answer is definitive (below 500), with the same key each time; after
// `tries` it reports {unknown: true}: whether the write happened is then not known.
// Every state-changing call carries the session's CSRF token (from the page's <meta>).
const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
async function sendUntilKnown(method, url, body, key, onTry, tries = 4) {
  const headers = {'Content-Type': 'application/json', 'X-CSRF-Token': CSRF};
  if (key) headers['Idempotency-Key'] = key;
  for (let attempt = 1; attempt <= tries; ++attempt) {
    onTry(attempt);
    let r = null;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 10000);
    try {
      r = await fetch(url, {method, headers, signal: ctl.signal, credentials: 'same-origin',
        body: body ? JSON.stringify(body) : undefined});
    } catch (e) { r = null; }  // no answer: unknown, like a 5xx
    clearTimeout(timer);
    if (r && r.status < 500)
      return {status: r.status, ok: r.ok, data: await r.json().catch(() => ({}))};
    const after = r ? Number(r.headers.get('Retry-After')) : NaN;
    if (attempt < tries) await sleep(1000 * Math.min(5, after > 0 ? after : attempt));
  }
  return {unknown: true};
}
const form = document.getElementById('book');
if (form) form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = document.getElementById('book-result');
  const button = form.querySelector('button[type=submit]');
  const f = new FormData(form);
  const details = {specialty: f.get('specialty'),
    starts_at: f.get('starts_at'), reason: f.get('reason') || undefined};
  button.disabled = true;
  const res = await sendUntilKnown('POST', '/api/appointments', details, keyFor(details),
    (n) => { msg.textContent = n === 1 ? 'Reservando…' : 'Reservando… (intento ' + n + ')'; });
  button.disabled = false;
  if (res.unknown) {
    msg.textContent = 'Aún no sabemos si la hora quedó reservada. Pulse «Reservar» de nuevo ' +
      'para confirmarlo: no se reservará dos veces.';
    return;
  }
  settled();
  if (res.ok) { msg.textContent = 'Hora reservada.'; location.reload(); return; }
  msg.textContent = 'No se pudo reservar: ' + (res.data.message || ('error ' + res.status));
});
document.querySelectorAll('button[data-cancel]').forEach((b) => b.addEventListener('click',
  async () => {
    b.disabled = true;
    // Cancelling twice is a no-op, so retrying is safe without a key.
    const res = await sendUntilKnown('DELETE', '/api/appointments/' + b.dataset.cancel,
      undefined, null, () => {});
    b.disabled = false;
    if (res.ok) { location.reload(); return; }
    b.textContent = res.unknown ? 'Sin respuesta: pulse de nuevo'
      : 'Error: ' + (res.data.message || res.status);
  }));
// A free slot on the booking page: one click books it (one key per slot, kept until the
// answer is definitive, so a retry never books twice); a slot someone else took first is
// refused plainly and the list is refreshed.
document.querySelectorAll('button[data-slot]').forEach((b) => b.addEventListener('click',
  async () => {
    const msg = document.getElementById('book-result');
    const details = {doctor_id: Number(b.dataset.doctor), slot_id: Number(b.dataset.slot)};
    document.querySelectorAll('button[data-slot]').forEach((x) => { x.disabled = true; });
    const res = await sendUntilKnown('POST', '/api/appointments', details, keyFor(details),
      (n) => { msg.textContent = n === 1 ? 'Reservando…' : 'Reservando… (intento ' + n + ')'; });
    document.querySelectorAll('button[data-slot]').forEach((x) => { x.disabled = false; });
    if (res.unknown) {
      msg.textContent = 'Aún no sabemos si la hora quedó reservada. Pulse «Reservar» de nuevo ' +
        'para confirmarlo: no se reservará dos veces.';
      return;
    }
    settled();
    if (res.ok) { location.href = '/patient'; return; }
    msg.textContent = 'No se pudo reservar: ' + (res.data.message || ('error ' + res.status));
    if (res.status === 409) setTimeout(() => location.reload(), 3000);
  }));
