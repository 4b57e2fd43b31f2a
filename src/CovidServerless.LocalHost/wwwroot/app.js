// CovidServerless browser app: upload scans, follow their results, list recent results, show the models.
// Plain JavaScript, no dependencies. Text from the server is only ever set as textContent, never parsed as HTML.
'use strict';

(() => {
  const views = ['upload', 'result', 'recent', 'models'];
  const previews = new Map(); // scanId -> object URL of the file this session uploaded
  let generation = 0; // bumps on every navigation, so a view's pending polls stop when the user leaves it

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);
  const fmt = (p) => (typeof p === 'number' ? p.toFixed(3) : '–');
  // An abstention reads as what it asks for, in words: never by colour alone, never as a third diagnosis.
  const verdictWords = (v) => (v === 'covid' ? 'COVID' : v === 'noncovid' ? 'Non-COVID' : v === 'indeterminate' ? 'Indeterminate - needs a radiologist' : '–');
  const modalityWords = (m) => (m === 'chest' ? 'Chest X-ray' : m === 'ct' ? 'CT' : m);
  const statusWords = (s) => (s ? s[0].toUpperCase() + s.slice(1) : '–');
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');

  function seconds(from, to) {
    const ms = new Date(to) - new Date(from);
    if (!Number.isFinite(ms) || ms < 0) return '–';
    return ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  }

  // Azure Functions answers only requests that carry its function key. Opened as .../api/web/?code=KEY, the page keeps
  // the key for this tab (sessionStorage), takes it out of the address bar, and sends it as a header, never in a URL.
  const keyName = 'covidserverless.functionKey';
  const given = new URLSearchParams(location.search).get('code');
  if (given) {
    sessionStorage.setItem(keyName, given);
    history.replaceState(null, '', location.pathname + location.hash);
  }

  const needsKey = 'This server needs its access key: open the page as …/api/web/?code=<function key> (ask whoever deployed it).';

  function apiHeaders(extra) {
    const key = sessionStorage.getItem(keyName);
    return key ? { ...extra, 'x-functions-key': key } : { ...extra };
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: apiHeaders({ Accept: 'application/json' }) });
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    return { status: response.status, body };
  }

  // ---------- navigation ----------
  function route() {
    generation++;
    const hash = location.hash || '#/';
    const match = /^#\/result\/([0-9a-f]{32})$/.exec(hash);
    const name = match ? 'result' : hash === '#/recent' ? 'recent' : hash === '#/models' ? 'models' : 'upload';
    for (const view of views) $(`view-${view}`).hidden = view !== name;
    for (const link of document.querySelectorAll('[data-nav]')) {
      if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const titles = { upload: 'Upload scans', result: 'Result', recent: 'Recent results', models: 'Models' };
    document.title = `${titles[name]} – CovidServerless`;
    if (name === 'result') showResult(match[1], generation);
    if (name === 'recent') loadRecent(null);
    if (name === 'models') loadModels();
    return name;
  }

  window.addEventListener('hashchange', () => {
    route();
    $('main').focus();
  });

  // ---------- upload ----------
  const form = $('upload-form');
  const input = $('files');
  const drop = $('drop');

  function modality() {
    return form.querySelector('input[name="modality"]:checked').value;
  }

  function upload(file, chosenModality) {
    $('no-uploads').hidden = true;
    const progress = el('progress', { max: 100, value: 0, 'aria-label': `Upload progress of ${file.name}` });
    const state = el('p', { class: 'state', text: 'Uploading…' });
    const item = el('li', { 'data-file': file.name },
      el('span', { class: 'file', text: file.name }),
      el('span', { class: 'muted', text: modalityWords(chosenModality) }),
      progress, state);
    $('uploads').prepend(item);

    const request = new XMLHttpRequest();
    request.open('POST', `/api/scans/${chosenModality}`);
    for (const [header, value] of Object.entries(apiHeaders({ 'Content-Type': file.type || 'application/octet-stream' }))) {
      request.setRequestHeader(header, value);
    }
    request.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
    });
    request.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch { body = null; }
      if (request.status === 202 && body && body.scanId) {
        progress.value = 100;
        previews.set(body.scanId, URL.createObjectURL(file));
        item.dataset.scanId = body.scanId;
        state.replaceChildren('Accepted; waiting for the models… ',
          el('a', { href: `#/result/${body.scanId}`, text: `View result for ${file.name}` }));
        followInList(body.scanId, state, file.name);
      } else {
        item.classList.add('refused');
        progress.remove();
        const why = request.status === 401 ? needsKey : body && body.error ? body.error : `The server answered HTTP ${request.status}.`;
        state.replaceChildren(el('strong', { text: 'Refused: ' }), why);
      }
    });
    request.addEventListener('error', () => {
      item.classList.add('refused');
      state.textContent = 'The upload failed: the server could not be reached.';
    });
    request.send(file);
  }

  // Polls a result for the upload list (1 s, growing by half up to 10 s) until it is recorded.
  async function followInList(scanId, state, fileName) {
    let delay = 1000;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      const { status, body } = await getJson(`/api/results/${scanId}`).catch(() => ({ status: 0, body: null }));
      if (status === 200 && body) {
        const summary = body.status === 'scored'
          ? `${verdictWords(body.verdict)} (pCovid ${fmt(body.pCovid)}, threshold ${fmt(body.threshold)}). `
          : `${body.status === 'rejected' ? 'Rejected' : 'Failed'}: ${body.reason} `;
        state.replaceChildren(summary, el('a', { href: `#/result/${scanId}`, text: `View result for ${fileName}` }));
        return;
      }
      delay = Math.min(delay * 1.5, 10000);
    }
  }

  function uploadAll(files) {
    const chosen = modality();
    for (const file of files) upload(file, chosen);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (input.files.length === 0) {
      input.focus();
      return;
    }
    uploadAll([...input.files]);
    input.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) uploadAll([...e.dataTransfer.files]);
  });

  // ---------- result ----------
  async function showResult(scanId, mine) {
    const status = $('result-status');
    const bodyBox = $('result-body');
    const figure = $('scan-figure');
    bodyBox.replaceChildren();
    $('heatmap-toggles').hidden = true;
    $('heatmap-image').hidden = true;
    const preview = previews.get(scanId);
    figure.hidden = !preview;
    if (preview) {
      $('scan-image').src = preview;
      $('scan-image').dataset.source = 'upload';
      $('scan-caption').textContent = 'The file as uploaded from this browser.';
    }
    status.textContent = 'Waiting for the result…';

    const started = Date.now();
    let delay = 500;
    for (;;) {
      if (mine !== generation) return;
      const { status: code, body } = await getJson(`/api/results/${scanId}`).catch(() => ({ status: 0, body: null }));
      if (mine !== generation) return;
      if (code === 200 && body) {
        renderResult(body, preview);
        return;
      }
      if (code === 401) {
        status.textContent = needsKey;
        return;
      }
      if (code === 400) {
        status.textContent = body && body.error ? body.error : 'This is not a scan id.';
        return;
      }
      const waited = Math.round((Date.now() - started) / 1000);
      status.textContent = code === 0
        ? `The server cannot be reached; trying again (waited ${waited} s).`
        : waited > 120
          ? `Still processing after ${waited} s: this is taking longer than usual; the page keeps checking.`
          : `Processing… the models are scoring this scan (waited ${waited} s).`;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 1.5, 10000);
    }
  }

  function renderResult(r, preview) {
    const status = $('result-status');
    const bodyBox = $('result-body');
    const figure = $('scan-figure');
    status.textContent = r.status === 'scored' ? 'Result ready.' : r.status === 'rejected' ? 'The scan was rejected.' : 'Processing failed.';

    if (r.status === 'scored') {
      showStoredImage(r);
    } else if (!preview) {
      figure.hidden = true;
    }

    const cards = [];
    if (r.status === 'scored') {
      const covid = r.verdict === 'covid';
      const why = r.verdict === 'indeterminate'
        ? 'too close to it, or the models disagree too much, for the ensemble to call it: a radiologist should read this scan.'
        : `${covid ? 'at or above' : 'below'} it, so the ensemble calls it ${verdictWords(r.verdict)}.`;
      cards.push(el('div', { class: `card verdict-${r.verdict}`, id: 'verdict-card' },
        el('h2', { class: 'visually-hidden', text: 'Ensemble verdict' }),
        el('p', { class: `verdict ${r.verdict}`, id: 'verdict', text: `${verdictWords(r.verdict)}` }),
        el('p', { text: `Ensemble pCovid ${fmt(r.pCovid)}; threshold ${fmt(r.threshold)}: ${why}` }),
        bar('div', 'Ensemble (mean of the models)', r.pCovid, r.threshold, r.verdict, null)));

      const models = r.models || [];
      cards.push(el('div', { class: 'card' },
        el('h2', { text: `Each model (${models.length})` }),
        el('ul', { class: 'bars', id: 'model-bars' }, ...models.map((m) => bar('li', m.name, m.pCovid, r.threshold, m.verdict, m.version))),
        el('p', { class: 'legend', text: 'Bar length: the model\'s pCovid from 0 to 1. Dark line: the decision threshold.' })));
      heatmapToggles(models);
    } else {
      const heading = r.status === 'rejected' ? 'This file could not be screened' : 'Processing failed';
      cards.push(el('div', { class: 'card reason', id: 'reason-card' },
        el('h2', { text: heading }),
        el('p', { id: 'reason', text: r.reason || 'No reason was recorded.' })));
    }

    cards.push(el('div', { class: 'card' },
      el('h2', { text: 'Details' }),
      el('dl', { class: 'facts' },
        el('dt', { text: 'Stored as' }), el('dd', { text: r.blobName }),
        el('dt', { text: 'Modality' }), el('dd', { text: modalityWords(r.modality) }),
        el('dt', { text: 'Uploaded' }), el('dd', { text: when(r.uploadedAt) }),
        el('dt', { text: 'Processed' }), el('dd', { text: when(r.processedAt) }),
        el('dt', { text: 'Time to result' }), el('dd', { id: 'time-to-result', text: seconds(r.uploadedAt, r.processedAt) }),
        el('dt', { text: 'Model versions' }), el('dd', { text: (r.models || []).map((m) => `${m.name} ${m.version}`).join(', ') || '–' }),
        el('dt', { text: 'Scan id' }), el('dd', { text: r.scanId }))));
    $('result-body').replaceChildren(...cards);
    bodyBox.dataset.status = r.status;
  }

  // Fetched rather than linked, so the request carries the function key in a header where the server needs one.
  async function showStoredImage(r) {
    const mine = generation;
    const response = await fetch(`/api/results/${r.scanId}/image`, { headers: apiHeaders({}) }).catch(() => null);
    if (mine !== generation) return;
    if (!response || !response.ok) {
      $('scan-caption').textContent = 'The stored image cannot be shown (it may have been replaced or deleted).';
      return;
    }
    const image = $('scan-image');
    if (image.dataset.source === 'server' && image.src) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(await response.blob());
    image.dataset.source = 'server';
    $('scan-figure').hidden = false;
    $('scan-caption').textContent = `${modalityWords(r.modality)} scan as stored.`;
  }

  function bar(tag, name, p, threshold, verdict, version) {
    const pct = Math.max(0, Math.min(1, p || 0)) * 100;
    const label = `${name}${version ? ` (version ${version})` : ''}: pCovid ${fmt(p)}, threshold ${fmt(threshold)}, verdict ${verdictWords(verdict)}`;
    const fill = el('span', { class: `fill ${verdict === 'covid' || verdict === 'indeterminate' ? verdict : ''}` });
    fill.style.width = `${pct}%`;
    const mark = el('span', { class: 'threshold' });
    mark.style.left = `${Math.max(0, Math.min(1, threshold || 0)) * 100}%`;
    return el(tag, { class: tag === 'li' ? 'model' : 'ensemble', 'data-model': tag === 'li' ? name : null },
      el('div', { class: 'bar-head' },
        el('span', { class: 'name', text: version ? `${name} ${version}` : name }),
        el('span', { text: `${fmt(p)} · ${verdictWords(verdict)}` })),
      el('div', {
        class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 1, 'aria-valuenow': (p || 0).toFixed(3), 'aria-label': label,
      }, fill, mark));
  }

  // Heatmaps appear only when the result carries them: a model entry may have "heatmapUrl", a same-origin path
  // (starting with '/') to an image the size of the scan (or any size: it is stretched over it).
  function heatmapToggles(models) {
    const box = $('heatmap-toggles');
    const overlay = $('heatmap-image');
    const withMaps = models.filter((m) => typeof m.heatmapUrl === 'string' && m.heatmapUrl.startsWith('/') && !m.heatmapUrl.startsWith('//'));
    box.replaceChildren(el('legend', { text: 'Heatmap overlay' }));
    box.hidden = withMaps.length === 0;
    for (const m of withMaps) {
      const toggle = el('input', { type: 'checkbox', name: 'heatmap', value: m.name });
      toggle.addEventListener('change', async () => {
        for (const other of box.querySelectorAll('input')) if (other !== toggle) other.checked = false;
        overlay.hidden = true;
        if (!toggle.checked) return;
        // Fetched with the API's headers (a function key where the server needs one), shown from a blob URL.
        const response = await fetch(m.heatmapUrl, { headers: apiHeaders({}) }).catch(() => null);
        if (!toggle.checked || !response || !response.ok) return;
        if (overlay.src.startsWith('blob:')) URL.revokeObjectURL(overlay.src);
        overlay.src = URL.createObjectURL(await response.blob());
        overlay.alt = `${m.name} heatmap over the scan`;
        overlay.hidden = false;
      });
      box.append(el('label', {}, toggle, ` ${m.name}`));
    }
  }

  // ---------- recent ----------
  const filters = $('filters');
  const pages = []; // continuation tokens of the pages shown so far (null = first)
  let nextToken = null;

  async function loadRecent(token) {
    const mine = generation;
    const params = new URLSearchParams({ top: '20' });
    for (const [key, value] of new FormData(filters)) if (value) params.set(key, value);
    if (token) params.set('continuationToken', token);
    $('recent-status').textContent = 'Loading…';
    const { status, body } = await getJson(`/api/scans?${params}`).catch(() => ({ status: 0, body: null }));
    if (mine !== generation) return;
    const rows = $('recent-table').tBodies[0];
    if (status !== 200 || !body) {
      $('recent-status').textContent = status === 401 ? needsKey : body && body.error ? body.error : 'The results could not be loaded.';
      return;
    }
    if (!token) pages.length = 0;
    pages.push(token);
    nextToken = body.continuationToken || null;
    rows.replaceChildren(...body.items.map((r) => el('tr', { 'data-scan-id': r.scanId },
      el('td', { text: when(r.uploadedAt) }),
      el('td', { text: modalityWords(r.modality) }),
      el('td', { text: statusWords(r.status) }),
      el('td', { class: r.verdict || '', text: verdictWords(r.verdict) }),
      el('td', { text: fmt(r.pCovid) }),
      el('td', {}, el('a', { href: `#/result/${r.scanId}`, text: `Open ${r.blobName}` })))));
    $('recent-status').textContent = body.items.length === 0
      ? (nextToken ? 'No matching results on this page; try older results.' : 'No results yet.')
      : `Showing ${body.items.length} result${body.items.length === 1 ? '' : 's'}${pages.length > 1 ? ` (page ${pages.length})` : ''}.`;
    $('recent-next').disabled = !nextToken;
    $('recent-first').disabled = pages.length <= 1;
  }

  filters.addEventListener('submit', (e) => { e.preventDefault(); loadRecent(null); });
  $('recent-next').addEventListener('click', () => { if (nextToken) loadRecent(nextToken); });
  $('recent-first').addEventListener('click', () => loadRecent(null));

  // ---------- models ----------
  async function loadModels() {
    const mine = generation;
    const [health, models] = await Promise.all([
      getJson('/api/health').catch(() => ({ status: 0, body: null })),
      getJson('/api/models').catch(() => ({ status: 0, body: null })),
    ]);
    if (mine !== generation) return;
    if (health.status === 401) {
      $('health').textContent = needsKey;
      return;
    }
    const h = health.body;
    const ready = health.status === 200;
    $('health').replaceChildren(
      el('span', { class: ready ? 'ok' : 'bad', text: ready ? 'Ready: every model loaded.' : 'Not ready.' }),
      h && h.problems && h.problems.length ? ` ${h.problems.join(' ')}` : '');

    const list = Array.isArray(models.body) ? models.body : [];
    const sections = ['chest', 'ct'].map((m) => {
      const members = list.filter((x) => x.modality === m && x.role !== 'gate');
      const gate = list.find((x) => x.modality === m && x.role === 'gate');
      const threshold = members.find((x) => typeof x.ensembleThreshold === 'number');
      const vote = members.some((x) => x.ensembleCalibrated)
        ? 'mean of the models\' calibrated pCovid, recalibrated'
        : 'mean pCovid of the models';
      const band = members.map((x) => x.ensembleAbstain).find((a) => a && typeof a.margin === 'number');
      const abstains = band
        ? ` Indeterminate (needs a radiologist) within ${fmt(band.margin)} of the threshold${band.maxSpread < 1 ? `, or when the models' pCovid differ by more than ${fmt(band.maxSpread)}` : ''}.`
        : '';
      return el('section', { 'aria-labelledby': `models-${m}` },
        el('h2', { id: `models-${m}`, text: `${modalityWords(m)}: ${members.length} model${members.length === 1 ? '' : 's'}` }),
        el('p', { text: (threshold ? `Ensemble: ${vote}, threshold ${fmt(threshold.ensembleThreshold)}.` : `Ensemble: ${vote}.`) + abstains }),
        el('p', {
          class: 'gate',
          text: gate
            ? `Input gate ${gate.name} ${gate.version}: an image it scores below ${fmt(gate.gateThreshold)} as ${m === 'chest' ? 'a chest X-ray' : 'a chest CT slice'} is rejected before the models see it.`
            : 'No input gate: every decodable image is scored, whatever it shows.',
        }),
        el('div', { class: 'models-grid' }, ...members.map(modelCard)));
    });
    $('models-body').replaceChildren(...sections);
  }

  function modelCard(m) {
    const v = m.validation || {};
    const facts = [['Architecture', m.architecture || '–'], ['Version', m.version],
      ['Input', m.input ? `${m.input.width}×${m.input.height} ${m.input.layout} ${m.input.channelOrder}` : '–']];
    // Cross-validated figures carry a spread over folds; older manifests a single val AUC and accuracy.
    const aucLabel = typeof v.aucSd === 'number' ? 'Cross-validated AUC' : 'Validation AUC';
    if (typeof v.auc === 'number') facts.push([aucLabel, typeof v.aucSd === 'number' ? `${v.auc.toFixed(3)} (folds ${v.aucMean.toFixed(3)} ± ${v.aucSd.toFixed(3)})` : v.auc.toFixed(3)]);
    if (typeof v.accuracy === 'number') facts.push(['Validation accuracy', v.accuracy.toFixed(3)]);
    if (v.n !== undefined) facts.push([typeof v.aucSd === 'number' ? 'Scans scored out of fold' : 'Validation images', String(v.n)]);
    if (v.data) facts.push(['How measured', String(v.data)]);
    facts.push(['SHA-256', `${(m.sha256 || '').slice(0, 12)}…`]);
    return el('div', { class: 'card', 'data-model': `${m.modality}/${m.name}` },
      el('h3', { text: m.name }),
      el('dl', { class: 'facts' }, ...facts.flatMap(([k, val]) => [el('dt', { text: k }), el('dd', { text: val })])));
  }

  route();
})();
