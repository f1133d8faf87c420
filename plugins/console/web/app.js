// app.js — the console page: logs in, loads the site's state (/api/state), follows it live
// (/events, Server-Sent Events) and sends the officer's actions as JSON with the session's
// CSRF token. Every text from the bus is put in with textContent, never as HTML.

const state = { lanes: {}, crossings: {}, risk: {}, alerts: [], devices: {}, plugins: {} };
let session = null;   // {user, role, csrf}
let dict = {};        // the current language's labels
let shownCrossing = null;  // id in the crossing view
let shownPicture = null;   // a picture loaded through search (not in state)
let events = null;
let refreshTimer = null;

const $ = (id) => document.getElementById(id);
const t = (key) => dict[key] ?? key;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// --- Language -----------------------------------------------------------------------------

async function setLanguage(lang) {
  const r = await fetch(`i18n/${lang}.json`);
  dict = await r.json();
  localStorage.setItem('kordon.lang', lang);
  document.documentElement.lang = lang;
  $('lang').value = lang;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-placeholder]'))
    e.placeholder = t(e.dataset.i18nPlaceholder);
  $('live').textContent = t(events && events.readyState === 1 ? 'live' : 'offline');
  renderAll();
}

// --- Server calls -------------------------------------------------------------------------

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session ? session.csrf : '' },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  return { status: r.status, data };
}

async function get(path) {
  const r = await fetch(path);
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  return { status: r.status, data };
}

async function loadState() {
  const r = await get('/api/state');
  if (r.status === 401) return showLogin();
  Object.assign(state, r.data);
  renderAll();
}

function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; loadState(); }, 150);
}

function connectEvents() {
  if (events) events.close();
  events = new EventSource('/events');
  events.onopen = () => { $('live').className = 'live on'; $('live').textContent = t('live'); loadState(); };
  events.onerror = () => { $('live').className = 'live off'; $('live').textContent = t('offline'); };
  events.addEventListener('reload', () => { events.close(); location.reload(); });
  events.addEventListener('bus', (e) => applyEvent(JSON.parse(e.data)));
}

// One bus message, as the server's model takes it (console_model.cpp).
function applyEvent(m) {
  const b = m.body;
  if (m.topic === 'crossing.opened' || m.topic === 'crossing.updated' || m.topic === 'crossing.closed') {
    const id = b.id || m.crossing_id, lane = b.lane || m.lane;
    const known = state.crossings[id];
    if (known && (known.revision ?? 0) > (b.revision ?? 0)) return;
    state.crossings[id] = b;
    state.lanes[lane] = state.lanes[lane] || { current: '' };
    if (b.current && b.state !== 'closed') state.lanes[lane].current = id;
    else if (state.lanes[lane].current === id) state.lanes[lane].current = '';
    renderLanes();
    if (shownCrossing === id) renderCrossing();
  } else if (m.topic === 'risk.assessment') {
    state.risk[b.crossing_id || m.crossing_id] = b;
    renderLanes();
    if (shownCrossing === (b.crossing_id || m.crossing_id)) renderCrossing();
    if (b.channel === 'red') scheduleRefresh();
  } else if (['alert.raised', 'alert.acknowledged', 'db.watchlist.hit', 'device.status',
              'plugin.status', 'console.prompt', 'console.answer'].includes(m.topic)) {
    scheduleRefresh();
  }
}

// --- Views --------------------------------------------------------------------------------

function show(view) {
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`;
}

// A supervisor's override (in the crossings plugin's picture) stands over any assessment (the
// rule of plugins/crossings' ChooseChannel); else the latest assessment on the bus, which may
// be newer than the picture.
function channelOf(id) {
  const p = state.crossings[id] || (shownPicture && shownPicture.id === id ? shownPicture : null);
  if (p && p.override) return p.override.channel;
  const r = state.risk[id];
  if (r) return r.channel;
  return p && p.risk ? p.risk.channel : null;
}

function chan(channel) {
  return el('span', { class: `chan ${channel || ''}` }, channel ? t(`ch_${channel}`) : t('no_channel'));
}

function renderAll() { renderLanes(); renderAlerts(); if (shownCrossing) renderCrossing(); }

function renderLanes() {
  const box = $('lanes');
  box.replaceChildren();
  const lanes = Object.keys(state.lanes).sort();
  if (!lanes.length) box.append(el('p', {}, t('no_lanes')));
  for (const lane of lanes) {
    const id = state.lanes[lane].current;
    const c = id ? state.crossings[id] : null;
    const lights = Object.entries(state.devices).filter(([, d]) => d.lane === lane)
      .map(([name, d]) => el('span', { class: `light ${d.state}`, title: d.reason || '' },
                             `${name}: ${t(`dev_${d.state}`)}`));
    box.append(el('div', { class: 'lane', 'data-lane': lane },
      el('h2', {}, lane),
      id ? el('p', {}, el('span', { class: 'crossing-link', 'data-crossing': id,
                                    onclick: () => openCrossing(id) }, id)) : el('p', {}, t('no_crossing')),
      c ? el('p', {}, c.plate || '—', ' · ', `${(c.documents || []).length} ${t('documents_n')}`) : null,
      el('p', {}, chan(id ? channelOf(id) : null)),
      el('div', { class: 'lights' }, lights)));
  }
}

function alertText(a) {
  const b = a.body || {};
  switch (a.kind) {
    case 'watchlist_hit': return `${t('k_watchlist_hit')}: ${b.explanation || b.matched || ''}`;
    case 'red_channel': return `${t('k_red_channel')}: ${(b.reasons || []).join('; ')}`;
    case 'device_offline': return `${t('k_device_offline')}: ${b.device || ''} (${t(`dev_${b.state}`)}) ${b.reason || ''}`;
    case 'prompt': return `${t('k_prompt')}: ${b.question || ''}`;
    default: return `${t('k_alert')}: ${b.severity || ''} ${b.source || ''} ${b.reason || ''}`;
  }
}

function renderAlerts() {
  const list = $('alerts');
  list.replaceChildren();
  const open = state.alerts.filter((a) => !a.acknowledged_by).length;
  $('alert-count').textContent = open;
  for (const a of [...state.alerts].reverse()) {
    const done = !!a.acknowledged_by;
    const actions = [];
    if (!done && a.kind === 'prompt') {
      for (const choice of a.body.choices || [])
        actions.push(el('button', { class: 'answer', onclick: () => answer(a, choice) }, choice));
    } else if (!done) {
      actions.push(el('button', { class: 'ack', 'data-id': a.id, onclick: () => acknowledge(a) }, t('acknowledge')));
    }
    list.append(el('li', { class: done ? 'done' : 'open', 'data-kind': a.kind, 'data-id': a.id },
      el('strong', {}, new Date(a.time_us / 1000).toLocaleTimeString(), ' '),
      a.lane ? `${t('lane')} ${a.lane} · ` : '',
      a.crossing_id ? el('span', { class: 'crossing-link', onclick: () => openCrossing(a.crossing_id) }, a.crossing_id) : '',
      ' ', alertText(a), ' ',
      done ? el('em', {}, `${t('acknowledged_by')} ${a.acknowledged_by}${a.answer ? ` (${a.answer})` : ''}`) : actions));
  }
}

async function acknowledge(a) {
  const r = await post('/api/alerts/ack', { alert_id: a.id });
  if (r.status !== 200) alert(r.data.error || r.status);
  scheduleRefresh();
}

async function answer(a, choice) {
  const r = await post('/api/prompts/answer', { prompt_id: a.body.prompt_id, answer: choice });
  if (r.status !== 200) alert(r.data.error || r.status);
  scheduleRefresh();
}

async function openCrossing(id) {
  shownCrossing = id;
  shownPicture = null;
  $('decision-result').textContent = '';
  $('override-result').textContent = '';
  if (!state.crossings[id]) {
    const r = await get(`/api/crossings/${encodeURIComponent(id)}`);
    if (r.status === 200) shownPicture = r.data;
  }
  show('crossing');
  renderCrossing();
}

function rows(list, f) {
  if (!list || !list.length) return el('p', {}, '—');
  return el('ul', {}, list.map((x) => el('li', {}, f(x))));
}

function checkMark(ok) {
  return ok ? el('span', { class: 'good' }, `✔ ${t('valid')}`) : el('span', { class: 'bad' }, `✘ ${t('invalid')}`);
}

function renderCrossing() {
  const id = shownCrossing;
  const p = state.crossings[id] || (shownPicture && shownPicture.id === id ? shownPicture : null);
  $('crossing-title').textContent = `${t('crossing')} ${id}`;
  if (!p) { $('crossing-state').textContent = t('unknown_crossing'); return; }
  const risk = state.risk[id] || p.risk;
  const ov = p.override;
  const channel = ov ? ov.channel : (risk ? risk.channel : null);
  $('crossing-channel').className = `channel-big ${channel || ''}`;
  $('crossing-channel').textContent = channel ? t(`ch_${channel}`) : t('no_channel');
  $('crossing-override').hidden = !ov;
  $('crossing-override').textContent = ov
    ? `${t('overridden_by')} ${ov.user}: ${ov.reason}` +
      (risk && risk.channel ? ` · ${t('assessed')}: ${t(`ch_${risk.channel}`)}` : '')
    : '';
  $('crossing-state').textContent = `${t('lane')} ${p.lane} · ${t(`st_${p.state}`)}` +
    (p.decision ? ` · ${t('decision')}: ${t(`d_${p.decision.decision}`)} (${p.decision.officer || ''})` : '');
  $('crossing-reasons').replaceChildren(...(risk ? risk.reasons || [] : []).map((r) => el('li', {}, r)));
  $('c-plates').replaceChildren(rows(p.plates, (x) =>
    [el('strong', {}, x.plate), ` (${t('raw')}: ${x.raw ?? '—'}, ${x.country ?? ''}, ${t('confidence')} ${x.confidence ?? '—'})`]));
  $('c-documents').replaceChildren(rows(p.documents, (d) => [
    el('strong', {}, `${d.primary_identifier || ''} ${d.secondary_identifier || ''}`),
    ` ${d.document_number || ''}/${d.issuing_state || ''} · ${d.nationality || ''} · ${d.birth_date || ''} `,
    checkMark(d.valid),
    (d.checks || []).length ? el('div', {}, `${t('checks')}: `, (d.checks || []).map((c) =>
      el('span', { class: c.valid === false ? 'bad' : 'good' },
        `${t(`f_${c.field}`)} ${c.valid === false ? '✘' : '✔'} `))) : null,
    (d.repairs || []).length ? el('div', {}, `${t('repairs')}: `, (d.repairs || []).map((r) =>
      `${t(`f_${r.field}`)} ${r.from}→${r.to} `)) : null,
    (d.problems || []).length ? el('div', { class: 'bad' }, (d.problems || []).join('; ')) : null]));
  $('c-containers').replaceChildren(rows(p.containers, (c) =>
    [el('strong', {}, c.code), ' ', checkMark(c.valid), c.size_type ? ` ${c.size_type}` : '']));
  $('c-manifests').replaceChildren(rows(p.manifests, (m) => {
    const mf = m.manifest || {};
    return [el('strong', {}, t(`mf_${m.status}`)), ` (${m.matched_by || ''} ${m.value || ''}) `,
            mf.consignor ? `${mf.consignor} → ${mf.consignee || ''} ` : '',
            Array.isArray(mf.goods) ? mf.goods.map((g) => `${g.description || ''} (${g.hs_code || ''})`).join(', ')
                                    : (mf.goods || mf.description || ''),
            mf.declared_gross_kg ?? mf.gross_kg ? ` · ${t('declared')} ${mf.declared_gross_kg ?? mf.gross_kg} kg` : ''];
  }));
  const w = p.weights || {};
  const declared = (p.manifests || []).map((m) => m.manifest && (m.manifest.declared_gross_kg ?? m.manifest.gross_kg))
    .find((x) => x !== undefined && x !== null);
  // The scale weighs the truck, the manifest declares the cargo: a difference is shown, and
  // marked when it is more than a tenth of the declaration.
  const diff = w.latest && declared ? w.latest.kg - declared : null;
  $('c-weight').replaceChildren(w.latest ? el('p', {},
    el('strong', {}, `${w.latest.kg} kg`),
    ` · ${t('declared')} ${declared ? `${declared} kg` : '—'} `,
    diff !== null ? el('span', { class: Math.abs(diff) > declared / 10 ? 'bad' : '' },
                       `(${diff >= 0 ? '+' : ''}${Math.round(diff)} kg)`) : '')
    : el('p', {}, '—'));
  $('c-xray').replaceChildren(rows(p.xray, (x) =>
    [el('strong', {}, x.scan_id), ` ${x.image_path || ''} `, (x.marks || []).length ? `${t('marks')}: ${(x.marks || []).length}` : '']));
  $('c-hits').replaceChildren(rows(p.hits, (h) =>
    [el('strong', { class: 'bad' }, `${h.score ?? ''}`), ` ${h.matched || ''} — ${h.explanation || ''}`]));
  const closed = p.state === 'closed';
  $('decide').disabled = closed;
}

async function decide(ev) {
  ev.preventDefault();
  const out = $('decision-result');
  out.className = '';
  out.textContent = t('sending');
  const r = await post('/api/decision', { crossing_id: shownCrossing, decision: $('decision').value,
                                          notes: $('notes').value });
  out.className = r.status === 200 ? 'ok' : 'error';
  out.textContent = r.status === 200 ? `${t('decision_recorded')}: ${t(`d_${r.data.decision}`)}`
                                     : `${t('refused')}: ${r.data.error || r.status}`;
}

async function override(ev) {
  ev.preventDefault();
  const out = $('override-result');
  const r = await post('/api/override', { crossing_id: shownCrossing, channel: $('override-channel').value,
                                          reason: $('override-reason').value });
  out.className = r.status === 200 ? 'ok' : 'error';
  out.textContent = r.status === 200 ? `${t('override_done')}: ${t(`ch_${r.data.channel}`)}`
    : r.status === 403 ? `${t('forbidden')}: ${r.data.error || ''}` : `${t('refused')}: ${r.data.error || r.status}`;
}

async function search(ev) {
  ev.preventDefault();
  const q = new URLSearchParams();
  for (const k of ['plate', 'name', 'document', 'container']) {
    const v = $(`q-${k}`).value.trim();
    if (v) q.set(k, v);
  }
  const r = await get(`/api/crossings?${q}`);
  $('search-error').textContent = r.status === 200 ? '' : (r.data.error || r.status);
  const body = $('results').querySelector('tbody');
  body.replaceChildren();
  for (const c of (r.data.crossings || [])) {
    body.append(el('tr', { 'data-crossing': c.id, onclick: () => openCrossing(c.id) },
      el('td', {}, c.id), el('td', {}, c.lane), el('td', {}, c.opened || ''),
      el('td', {}, (c.plates || []).join(', ')), el('td', {}, (c.names || []).join(', ')),
      el('td', {}, chan(c.channel)), el('td', {}, c.decision ? t(`d_${c.decision}`) : '—')));
  }
  if (r.status === 200 && !(r.data.crossings || []).length) $('search-error').textContent = t('nothing_found');
}

// --- Session ------------------------------------------------------------------------------

function showLogin() {
  session = null;
  if (events) events.close();
  $('login').hidden = false;
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
}

function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${session.user} (${t(`role_${session.role}`)})`;
  $('who').dataset.role = session.role;
  show('lanes');
  connectEvents();
  loadState();
}

async function login(ev) {
  ev.preventDefault();
  const r = await post('/api/login', { user: $('user').value, password: $('password').value });
  $('password').value = '';
  if (r.status !== 200) {
    $('login-error').textContent = r.status === 429 ? t('too_many_logins') : t('wrong_login');
    return;
  }
  $('login-error').textContent = '';
  session = r.data;
  showApp();
}

async function logout() {
  await post('/api/logout', {});
  showLogin();
}

async function main() {
  await setLanguage(localStorage.getItem('kordon.lang') || 'en');
  $('lang').addEventListener('change', () => setLanguage($('lang').value));
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('decision-form').addEventListener('submit', decide);
  $('override-form').addEventListener('submit', override);
  $('search-form').addEventListener('submit', search);
  for (const b of document.querySelectorAll('nav button'))
    b.addEventListener('click', () => { shownCrossing = null; show(b.dataset.view); });
  const r = await get('/api/session');
  if (r.status === 200) { session = r.data; showApp(); } else showLogin();
}

main();
