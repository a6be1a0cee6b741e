// The Lotara operator console. Plain JavaScript, no build step: the service
// embeds this file and serves it at /console/console.js. Everything shown is
// built with DOM calls and textContent, never from HTML strings, so no value
// from the API is ever read as markup.
'use strict';

(() => {
  const KEY_STORE = 'lotara.console.apiKey';
  const USER_STORE = 'lotara.console.userId';
  const TERMINAL = ['completed', 'failed', 'cancelled'];
  const TASK_ORDER = [undefined, 'pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'];
  const TASK_ENDED = ['completed', 'failed', 'cancelled', 'skipped'];
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  // ---- small DOM helpers ----

  /** An element with attributes (`class`, `text`, `on*` handlers, others as
   * attributes) and children (nodes or strings). */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === 'text') node.textContent = value;
      else node.setAttribute(name, String(value));
    }
    node.append(...children);
    return node;
  }

  function announce(message) {
    const region = $('#announce');
    region.textContent = '';
    // A fresh text node makes screen readers read a repeated message again.
    setTimeout(() => { region.textContent = message; }, 50);
  }

  function showError(region, error) {
    if (!region) return;
    if (!error) {
      region.hidden = true;
      region.textContent = '';
      return;
    }
    region.hidden = false;
    region.replaceChildren(h('p', { text: error.message || String(error) }));
    if (error.fields && error.fields.length) {
      region.append(h('ul', {}, error.fields.map((f) => h('li', { text: f }))));
    }
  }

  const money = (usd, currency = 'USD') => {
    if (typeof usd !== 'number' || !Number.isFinite(usd)) return '—';
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 0 }).format(usd);
    } catch {
      return `${Math.round(usd)} ${currency}`;
    }
  };
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
  const label = (value) => String(value ?? '').replace(/_/g, ' ');
  const shortId = (id) => String(id).slice(0, 8) + '…' + String(id).slice(-4);
  function duration(ms) {
    if (typeof ms !== 'number' || ms < 0) return '—';
    if (ms < 1000) return `${ms} ms`;
    const secs = ms / 1000;
    if (secs < 60) return `${secs.toFixed(1)} s`;
    return `${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s`;
  }
  /** SSE ids are `<milliseconds>-<sequence>`: the time the event was logged. */
  const eventMs = (id) => {
    const ms = Number(String(id || '').split('-')[0]);
    return Number.isFinite(ms) && ms > 0 ? ms : null;
  };
  const statusBadge = (status) => h('span', { class: `badge status-${status}`, text: label(status) });

  function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'console-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // ---- the API, with the tab's key ----

  class ApiError extends Error {
    constructor(message, status, fields = []) {
      super(message);
      this.status = status;
      this.fields = fields;
    }
  }

  const apiKey = () => sessionStorage.getItem(KEY_STORE) || '';

  async function api(method, path, body, headers = {}) {
    const sent = { Accept: 'application/json', ...headers };
    if (body !== undefined) sent['Content-Type'] = 'application/json';
    const key = apiKey();
    if (key) sent['X-API-Key'] = key;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: sent,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError('The service could not be reached. Check that it is running, then try again.', 0);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (response.status === 401) {
      askForKey(key ? 'refused' : 'missing');
      throw new ApiError(key
        ? 'The API key was refused. Enter a valid key in the API key panel at the top.'
        : 'This service needs an API key. Enter it in the API key panel at the top, then try again.', 401);
    }
    if (!response.ok) {
      const fields = (data && data.details && Array.isArray(data.details.errors))
        ? data.details.errors.map((e) => `${e.field}: ${e.reason}`) : [];
      const message = (data && data.message) || `The service answered ${response.status}.`;
      throw new ApiError(message, response.status, fields);
    }
    return data;
  }

  // ---- API key panel ----

  function askForKey(reason) {
    const panel = $('#key-panel');
    $('#key-reason').textContent = reason === 'refused'
      ? 'The API key was refused. Enter a valid one.'
      : 'This service needs an API key for every request. Enter yours to continue.';
    panel.dataset.reason = reason;
    if (panel.hidden) {
      panel.hidden = false;
      $('#key-toggle').setAttribute('aria-expanded', 'true');
      $('#key-input').focus();
    }
  }

  function setupKeyPanel() {
    $('#key-toggle').addEventListener('click', () => {
      const panel = $('#key-panel');
      panel.hidden = !panel.hidden;
      $('#key-toggle').setAttribute('aria-expanded', String(!panel.hidden));
      if (!panel.hidden) $('#key-input').focus();
    });
    $('#key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('#key-input').value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORE, key);
      $('#key-input').value = '';
      $('#key-panel').hidden = true;
      $('#key-toggle').setAttribute('aria-expanded', 'false');
      $('#key-toggle').textContent = 'API key (set)';
      announce('API key saved for this tab.');
      route();
    });
    $('#key-forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORE);
      $('#key-toggle').textContent = 'API key';
      announce('API key forgotten.');
    });
    if (apiKey()) $('#key-toggle').textContent = 'API key (set)';
  }

  // ---- routing ----

  let leaveView = null;

  function route() {
    if (leaveView) { leaveView(); leaveView = null; }
    const hash = location.hash.replace(/^#/, '') || '/new';
    const [path] = hash.split('?');
    const parts = path.split('/').filter(Boolean);
    let view = 'new';
    if (parts[0] === 'jobs' && parts[1]) view = 'job';
    else if (['jobs', 'approvals', 'watchlists', 'new'].includes(parts[0])) view = parts[0];
    for (const section of $$('.view')) section.hidden = section.id !== `view-${view}`;
    for (const link of $$('nav a')) {
      const current = link.getAttribute('href') === `#/${view === 'job' ? 'jobs' : view}`;
      if (current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const heading = $(`#view-${view} h1`);
    document.title = `${heading.textContent} · Lotara console`;
    if (view === 'job') leaveView = openJob(decodeURIComponent(parts[1]));
    else if (view === 'jobs') loadJobs();
    else if (view === 'approvals') loadApprovals();
    else if (view === 'watchlists') loadWatchlists();
    heading.focus({ preventScroll: false });
  }

  const userId = () => sessionStorage.getItem(USER_STORE) || 'console-operator';
  const rememberUser = (id) => { if (id) sessionStorage.setItem(USER_STORE, id); };

  // ---- new plan ----

  function planRequest(form) {
    const value = (name) => form.elements[name].value.trim();
    const problems = [];
    const constraints = {};
    let query = value('query');
    if (!value('user_id')) problems.push('User id: enter who the plan is for.');
    if (!query) problems.push('What trip?: describe the trip.');
    if (value('destination')) constraints.destination = value('destination');
    if (value('departure_city')) constraints.departure_city = value('departure_city');
    if (value('start_date')) constraints.start_date = value('start_date');
    let days = value('duration_days') ? Number(value('duration_days')) : null;
    if (value('end_date')) {
      if (!value('start_date')) problems.push('End date: give a start date too.');
      else {
        const span = Math.round((Date.parse(value('end_date')) - Date.parse(value('start_date'))) / 86400000) + 1;
        if (span < 1) problems.push('End date: must not be before the start date.');
        else if (days !== null && days !== span) problems.push(`Days: the dates give ${span} days, not ${days}.`);
        else days = span;
      }
    }
    if (days !== null) {
      if (!Number.isInteger(days) || days < 1 || days > 30) problems.push('Days: a whole number from 1 to 30.');
      constraints.duration_days = days;
    }
    if (value('travelers')) {
      const travelers = Number(value('travelers'));
      if (!Number.isInteger(travelers) || travelers < 1 || travelers > 20) problems.push('Travellers: a whole number from 1 to 20.');
      constraints.travelers = travelers;
    }
    if (value('budget')) {
      const amount = Number(value('budget'));
      const currency = value('currency') || 'USD';
      if (!Number.isFinite(amount) || amount <= 0) problems.push('Budget: a positive amount.');
      else if (currency === 'USD') constraints.budget_usd = amount;
      // Another currency travels in the words of the request, which the
      // planner reads and converts.
      else query = `${query} (budget ${amount} ${currency})`;
    }
    const interests = value('interests').split(',').map((i) => i.trim()).filter(Boolean);
    if (interests.length) constraints.interests = interests;
    if (value('tier')) constraints.tier = value('tier');
    return { problems, body: { user_id: value('user_id'), query, constraints } };
  }

  function setupPlanForm() {
    const form = $('#plan-form');
    form.elements.user_id.value = userId();
    // One key per intended plan: a retry after a lost answer repeats it, so
    // the service returns the first job instead of starting a second one.
    form.addEventListener('input', () => { delete form.dataset.idempotencyKey; });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const errorRegion = $('.form-error', form);
      const { problems, body } = planRequest(form);
      if (problems.length) {
        showError(errorRegion, new ApiError('Please fix these fields:', 422, problems));
        return;
      }
      showError(errorRegion, null);
      form.dataset.idempotencyKey ||= randomKey();
      const submit = $('#plan-submit');
      submit.disabled = true;
      try {
        const job = await api('POST', '/v1/plan', body, { 'Idempotency-Key': form.dataset.idempotencyKey });
        delete form.dataset.idempotencyKey;
        rememberUser(body.user_id);
        announce('Planning started.');
        location.hash = `#/jobs/${encodeURIComponent(job.job_id)}`;
      } catch (error) {
        showError(errorRegion, error);
      } finally {
        submit.disabled = false;
      }
    });
  }

  // ---- one job, live ----

  /** Opens the job view; returns what to do on leaving it. */
  function openJob(id) {
    const view = $('#view-job');
    const job = { id, status: null, tasks: new Map(), output: {}, final: null, approval: null, seen: new Set() };
    let source = null;
    let closed = false;
    $('#job-title').textContent = `Job ${id}`;
    document.title = `Job ${shortId(id)} · Lotara console`;
    $('#job-tasks tbody').replaceChildren();
    $('#job-timeline').replaceChildren();
    $('#job-plan-body').replaceChildren(h('p', { class: 'muted', text: 'The plan appears here as the agents finish their parts.' }));
    $('#job-approval').hidden = true;
    $('#job-approval').dataset.key = '';
    $('#job-feedback').hidden = true;
    $('#feedback-form').reset();
    $('#feedback-done').hidden = true;
    showError($('.form-error', $('#feedback-form')), null);
    $('#job-error').hidden = true;
    showError($('.view-error', view), null);
    setStream('connecting', 'Connecting…');

    function setStream(state, text) {
      const cell = $('#job-stream');
      cell.dataset.state = state;
      cell.textContent = text;
    }

    async function refresh() {
      try {
        const status = await api('GET', `/v1/status/${encodeURIComponent(id)}`);
        if (closed) return;
        applyStatus(status);
      } catch (error) {
        if (!closed) showError($('.view-error', view), error);
      }
    }

    // A status read can answer after later events have arrived: it never
    // moves a task backwards, and it sets the status only when it is at
    // least as new as the last event applied.
    function applyStatus(status) {
      const fresh = Date.parse(status.updated_at) >= (job.lastEventMs || 0);
      if (fresh || !job.status) {
        job.status = status.status;
        job.stage = status.progress ? status.progress.current_state : job.stage;
        job.approval = status.approval;
        job.error = status.error;
      }
      job.approval = job.approval || status.approval;
      job.user = status.user_id;
      job.mode = status.mode;
      job.created = status.created_at;
      job.trace = status.opik_trace_url;
      job.final = status.final_result || job.final;
      Object.assign(job.output, status.current_output || {});
      for (const task of status.tasks || []) {
        const known = job.tasks.get(task.task_id) || {};
        const newer = TASK_ORDER.indexOf(task.status) >= TASK_ORDER.indexOf(known.status);
        job.tasks.set(task.task_id, {
          ...known,
          agent: task.agent,
          name: task.task_name,
          status: newer ? task.status : known.status,
          started: task.started_at ? Date.parse(task.started_at) : known.started,
          finished: task.completed_at ? Date.parse(task.completed_at) : known.finished,
        });
      }
      render();
    }

    function render() {
      $('#job-status').replaceWith(Object.assign(statusBadge(job.status || 'unknown'), { id: 'job-status' }));
      $('#job-stage').textContent = label(job.stage || '—');
      $('#job-user').textContent = job.user || '—';
      $('#job-mode').textContent = label(job.mode || '—');
      $('#job-created').textContent = when(job.created);
      renderProgress();
      renderTasks();
      const cancel = $('#job-cancel');
      cancel.hidden = !job.status || TERMINAL.includes(job.status);
      const trace = $('#job-trace');
      trace.hidden = !job.trace;
      if (job.trace) trace.href = job.trace;
      const failure = $('#job-error');
      failure.hidden = !job.error;
      if (job.error) failure.textContent = `Failed: ${job.error.message}${job.error.code ? ` (${job.error.code})` : ''}`;
      renderApproval();
      renderPlan($('#job-plan-body'), job.final || partialPlan(job.output), Boolean(job.final));
      $('#job-feedback').hidden = job.status !== 'completed';
    }

    function renderProgress() {
      const tasks = Array.from(job.tasks.values());
      const done = tasks.filter((t) => t.status === 'completed').length;
      const bar = $('#job-progress');
      bar.max = Math.max(tasks.length, 1);
      bar.value = job.status === 'completed' ? bar.max : done;
      $('#job-progress-text').textContent = tasks.length
        ? `${done} of ${tasks.length} tasks done`
        : 'No tasks yet';
    }

    function renderTasks() {
      const now = Date.now();
      const rows = Array.from(job.tasks.entries()).map(([taskId, t]) => {
        const end = t.finished || (t.status === 'running' ? now : null);
        const took = t.started && end ? end - t.started : null;
        const state = t.status === 'running' && t.tokens ? `running (${t.tokens} tokens written)` : label(t.status);
        return h('tr', { 'data-task': taskId, 'data-state': t.status },
          h('th', { scope: 'row', text: label(t.agent) }),
          h('td', { text: label(t.name) }),
          h('td', {}, h('span', { class: `badge task-${t.status}`, text: state })),
          h('td', { text: took === null || Number.isNaN(took) ? '—' : duration(took) + (t.finished ? '' : ' so far') }));
      });
      $('#job-tasks tbody').replaceChildren(...rows);
    }

    function renderApproval() {
      const section = $('#job-approval');
      const approval = job.approval;
      const waiting = job.status === 'waiting_approval';
      const key = approval ? `${waiting}:${approval.approved}:${approval.decided_at}` : '';
      if (section.dataset.key === key) return;
      section.dataset.key = key;
      section.hidden = !approval;
      if (!approval) return;
      const body = $('#job-approval-body');
      body.replaceChildren(approvalFacts(approval.approval_data || {}));
      if (approval.approved !== null && approval.approved !== undefined) {
        body.append(h('p', { class: approval.approved ? 'success' : 'warning', 'data-decision': approval.approved ? 'approved' : 'rejected' },
          `${approval.approved ? 'Approved' : 'Rejected'} ${when(approval.decided_at)}`,
          approval.notes ? ` — “${approval.notes}”` : ''));
      } else if (waiting) {
        body.append(decisionForm(id, 'job', () => refresh()));
      }
    }

    function task(data, eventId) {
      const known = job.tasks.get(data.task_id) || {};
      const at = eventMs(eventId);
      job.tasks.set(data.task_id, {
        ...known,
        agent: data.agent,
        name: data.task_name,
        status: data.status,
        started: data.status === 'running' ? (known.started || at) : known.started,
        finished: TASK_ENDED.includes(data.status) ? (known.finished || at) : known.finished,
      });
      if (data.output && typeof data.output === 'object') Object.assign(job.output, data.output);
    }

    function handle(kind, event) {
      let data = {};
      try { data = JSON.parse(event.data || '{}'); } catch { data = {}; }
      // Progress has no id of its own (the browser repeats the last logged
      // one), so it must not go through the duplicate check below.
      if (kind === 'agent_progress') {
        const running = Array.from(job.tasks.values()).find((t) => t.agent === data.agent && t.status === 'running');
        if (running) { running.tokens = data.tokens; renderTasks(); }
        return;
      }
      const eventId = event.lastEventId;
      // A reconnect starts with a fresh snapshot (no id); logged events are
      // never repeated, but guard anyway.
      if (eventId && kind !== 'state_change' && job.seen.has(`${kind}:${eventId}`)) return;
      if (eventId) job.seen.add(`${kind}:${eventId}`);
      job.lastEventMs = Math.max(job.lastEventMs || 0, eventMs(eventId) || 0);
      addTimeline(kind, data, eventId);
      if (kind === 'state_change') {
        if (data.status) job.status = data.status;
        if (data.workflow_state || data.current_state) job.stage = data.workflow_state || data.current_state;
        if (data.approval_data && !job.approval) job.approval = { approval_data: data.approval_data, approved: null };
        if (data.error) job.error = data.error;
        if (data.status && eventId) {
          announce(`Job is now ${label(data.status)}.`);
          refresh();
        }
      } else if (kind === 'task_start' || kind === 'task_complete') {
        task(data, eventId);
      } else if (kind === 'agent_output') {
        if (data.key) job.output[data.key] = data.value;
      } else if (kind === 'complete') {
        job.status = 'completed';
        job.final = data.result || job.final;
        announce('The plan is complete.');
      } else if (kind === 'error') {
        job.status = 'failed';
        job.error = data;
      }
      render();
      // The service ends the stream after the event that ends the job; a
      // `completed` state change still has the `complete` event behind it.
      if (kind === 'complete' || kind === 'error' || (kind === 'state_change' && data.status === 'cancelled')) {
        finish();
      }
    }

    function finish() {
      if (source) source.close();
      source = null;
      setStream('ended', 'Ended');
      refresh();
    }

    function addTimeline(kind, data, eventId) {
      const at = eventMs(eventId);
      const time = at ? new Date(at).toLocaleTimeString(undefined, { hour12: false }) : 'now';
      const list = $('#job-timeline');
      // Follows the newest event unless the reader scrolled up.
      const following = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
      list.append(h('li', { 'data-kind': kind, 'data-id': eventId || '' },
        h('span', { class: 'time', text: time }), ' ',
        h('span', { class: `kind kind-${kind}`, text: label(kind) }), ' ',
        h('span', { class: 'what', text: describeEvent(kind, data) })));
      if (following) list.scrollTop = list.scrollHeight;
    }

    // The browser reconnects by itself with Last-Event-ID; the page only
    // shows it and never opens a second stream.
    function connect() {
      source = new EventSource(`/v1/stream/${encodeURIComponent(id)}`);
      source.addEventListener('open', () => setStream('live', 'Live'));
      for (const kind of ['state_change', 'task_start', 'task_complete', 'agent_output', 'agent_progress', 'validation_result', 'complete']) {
        source.addEventListener(kind, (event) => handle(kind, event));
      }
      // `error` is both the service's event and the browser's connection
      // error; only the first carries data.
      source.addEventListener('error', (event) => {
        if (typeof event.data === 'string') { handle('error', event); return; }
        if (!source) return;
        if (source.readyState === EventSource.CLOSED || TERMINAL.includes(job.status)) {
          source.close();
          setStream('ended', 'Ended');
          source = null;
          refresh();
        } else {
          setStream('reconnecting', 'Reconnecting…');
        }
      });
    }

    $('#job-cancel').onclick = async () => {
      try {
        await api('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
        announce('Job cancelled.');
        refresh();
      } catch (error) {
        showError($('.view-error', view), error);
      }
    };
    $('#feedback-form').onsubmit = async (event) => {
      event.preventDefault();
      const form = event.target;
      const rating = Number(new FormData(form).get('rating'));
      const region = $('.form-error', form);
      if (!rating) {
        showError(region, new ApiError('Choose a rating from 1 to 5 stars.', 422));
        return;
      }
      const comment = form.elements.comment.value.trim();
      try {
        await api('POST', '/v1/feedback', { job_id: id, rating, comment: comment || null });
        showError(region, null);
        const done = $('#feedback-done');
        done.hidden = false;
        done.textContent = `Thank you: ${rating} star${rating === 1 ? '' : 's'} saved.`;
      } catch (error) {
        showError(region, error);
      }
    };

    refresh().then(() => { if (!closed) connect(); });
    return () => {
      closed = true;
      if (source) source.close();
      source = null;
    };
  }

  function describeEvent(kind, data) {
    switch (kind) {
      case 'state_change':
        if (data.approval_data) {
          const a = data.approval_data;
          return `waiting for approval: estimate ${money(a.estimated_total_usd)} against a budget of ${money(a.budget_usd)}`;
        }
        if (data.status && data.current_state) return `now ${label(data.status)}, stage ${label(data.current_state)}`;
        if (data.status) return `status ${label(data.status)}${data.error && data.error.message ? `: ${data.error.message}` : ''}`;
        if (data.workflow_state) return `stage ${label(data.workflow_state)}`;
        return 'state changed';
      case 'task_start': return `${label(data.agent)} started ${label(data.task_name)}`;
      case 'task_complete': return `${label(data.agent)} ${data.status === 'failed' ? 'failed' : 'finished'} ${label(data.task_name)}`
        + (typeof data.confidence_score === 'number' ? ` (confidence ${Math.round(data.confidence_score * 100)}%)` : '');
      case 'agent_output': return `${label(data.key)} ready`;
      case 'validation_result': return `validation ${data.passed ? 'passed' : 'failed'}`
        + (Array.isArray(data.checks) ? ` (${data.checks.length} checks)` : '');
      case 'error': return data.message || 'the job failed';
      case 'complete': return 'plan complete';
      default: return '';
    }
  }

  function approvalFacts(data) {
    return h('dl', { class: 'facts approval-facts' },
      h('div', {}, h('dt', { text: 'Budget' }), h('dd', { 'data-field': 'budget', text: money(data.budget_usd) })),
      h('div', {}, h('dt', { text: 'Estimate' }), h('dd', { 'data-field': 'estimate', text: money(data.estimated_total_usd) })),
      h('div', {}, h('dt', { text: 'Over by' }), h('dd', { 'data-field': 'overage', text: money(data.overage_usd) })),
      data.reason ? h('div', { class: 'wide' }, h('dt', { text: 'Why' }), h('dd', { text: label(data.reason) })) : null);
  }

  /** Notes and the two decisions; `place` keeps ids unique per view, and
   * `decided` runs after the service accepts a decision. */
  function decisionForm(jobId, place, decided) {
    const notesId = `notes-${place}-${jobId}`;
    const region = h('div', { class: 'form-error', role: 'alert', hidden: true });
    const form = h('form', { class: 'decision', 'data-job': jobId },
      h('div', { class: 'field' },
        h('label', { for: notesId, text: 'Notes (kept with the decision)' }),
        h('textarea', { id: notesId, name: 'notes', maxlength: 500, rows: 2 })),
      region,
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', value: 'approve', 'data-decision': 'approve', text: 'Approve' }),
        h('button', { type: 'submit', value: 'reject', class: 'danger', 'data-decision': 'reject', text: 'Reject' })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const approved = (event.submitter && event.submitter.value) !== 'reject';
      const notes = form.elements.notes.value.trim();
      for (const button of $$('button', form)) button.disabled = true;
      try {
        const answer = await api('POST', '/v1/approve', { job_id: jobId, approved, notes: notes || null });
        announce(answer.message);
        decided(approved);
      } catch (error) {
        showError(region, error);
        for (const button of $$('button', form)) button.disabled = false;
      }
    });
    return form;
  }

  // ---- rendering a plan ----

  function partialPlan(output) {
    if (!output || !Object.keys(output).length) return null;
    const unwrap = (value, key) => (value && !Array.isArray(value) && Array.isArray(value[key]) ? value[key] : value);
    return {
      flights: unwrap(output.flights, 'flights'),
      hotels: unwrap(output.hotels, 'hotels'),
      days: unwrap(output.activities, 'activities'),
      budget: output.budget,
      pre_trip: output.pre_trip,
    };
  }

  function renderPlan(container, plan, final) {
    if (!plan) {
      container.replaceChildren(h('p', { class: 'muted', text: 'The plan appears here as the agents finish their parts.' }));
      return;
    }
    const parts = [];
    if (!final) parts.push(h('p', { class: 'muted', text: 'Partial plan: more parts arrive as the agents finish.' }));
    if (plan.summary) parts.push(h('p', { class: 'summary', text: plan.summary }));
    if (plan.dates) {
      parts.push(h('p', {}, `${plan.dates.start} to ${plan.dates.end} · ${plan.dates.nights} nights · ${plan.travelers} traveller${plan.travelers === 1 ? '' : 's'}`));
    }
    if (plan.approval) {
      parts.push(h('p', { class: plan.approval.approved ? 'success' : 'warning' },
        `${plan.approval.approved ? 'Approved' : 'Rejected'} over budget by ${money(plan.approval.overage_usd)}`,
        plan.approval.notes ? `: “${plan.approval.notes}”` : ''));
    }
    if (plan.budget) parts.push(budgetSection(plan.budget));
    if (Array.isArray(plan.days) && plan.days.length) parts.push(daysSection(plan.days));
    if (Array.isArray(plan.flights)) parts.push(flightsSection(plan.flights));
    if (Array.isArray(plan.hotels)) parts.push(hotelsSection(plan.hotels));
    if (plan.pre_trip) parts.push(preTripSection(plan.pre_trip));
    if (Array.isArray(plan.warnings) && plan.warnings.length) {
      parts.push(h('section', { class: 'plan-part' }, h('h3', { text: 'Warnings' }),
        h('ul', {}, plan.warnings.map((w) => h('li', { text: w })))));
    }
    if (plan.estimate_note) parts.push(h('p', { class: 'muted', text: plan.estimate_note }));
    container.replaceChildren(...parts);
  }

  const BUDGET_PARTS = [
    ['flights_usd', 'Flights'],
    ['lodging_usd', 'Lodging'],
    ['food_usd', 'Food'],
    ['activities_usd', 'Activities'],
    ['local_transport_usd', 'Local transport'],
  ];

  function budgetSection(budget) {
    const breakdown = budget.breakdown || {};
    const total = budget.estimated_total_usd || 0;
    const limit = typeof budget.limit_usd === 'number' ? budget.limit_usd : null;
    const scale = Math.max(total, limit || 0, 1) * 1.08;
    const width = 600;
    const barY = 24;
    const barHeight = 36;
    const x = (usd) => (usd / scale) * width;
    const title = `Estimated ${money(total)}${limit !== null ? ` against a limit of ${money(limit)}` : ' (no limit)'}`;
    const svg = s('svg', { viewBox: `0 0 ${width} 96`, role: 'img', 'aria-labelledby': 'budget-chart-title', class: 'budget-chart', id: 'budget-chart', preserveAspectRatio: 'xMinYMin meet' },
      s('title', { id: 'budget-chart-title', text: title }));
    let at = 0;
    BUDGET_PARTS.forEach(([key, name], i) => {
      const usd = breakdown[key] || 0;
      if (usd <= 0) return;
      svg.append(s('rect', { x: x(at), y: barY, width: Math.max(x(usd), 1), height: barHeight, class: `part part-${i}` },
        s('title', { text: `${name}: ${money(usd)}` })));
      at += usd;
    });
    if (limit !== null) {
      const lx = Math.min(x(limit), width - 1);
      svg.append(
        s('line', { x1: lx, x2: lx, y1: 8, y2: barY + barHeight + 8, class: 'limit' }),
        s('text', { x: Math.max(lx - 4, 4), y: 16, class: 'limit-label', 'text-anchor': lx > width / 2 ? 'end' : 'start', text: `Limit ${money(limit)}` }));
    }
    svg.append(s('text', { x: 0, y: barY + barHeight + 26, class: 'total-label', text: `Total ${money(total)}` }));
    const legend = h('ul', { class: 'legend' }, BUDGET_PARTS.map(([key, name], i) => h('li', {},
      h('span', { class: `swatch part-${i}`, 'aria-hidden': 'true' }), `${name}: ${money(breakdown[key] || 0)}`)));
    const verdict = limit === null
      ? h('p', { text: 'No budget limit was given.' })
      : budget.within_budget
        ? h('p', { class: 'success', text: `Within the budget, ${money(limit - total)} to spare.` })
        : h('p', { class: 'warning', text: `Over the budget by ${money(budget.overage_usd)}.` });
    return h('section', { class: 'plan-part', 'aria-labelledby': 'plan-budget-title' },
      h('h3', { id: 'plan-budget-title', text: 'Budget' }),
      h('figure', {}, svg, h('figcaption', {}, legend)), verdict);
  }

  function daysSection(days) {
    return h('section', { class: 'plan-part', 'aria-labelledby': 'plan-days-title' },
      h('h3', { id: 'plan-days-title', text: 'Day by day' }),
      h('ol', { class: 'days' }, days.map((day) => h('li', { class: 'day' },
        h('h4', { text: `Day ${day.day_number} · ${day.date} · ${day.location}` }),
        h('p', { class: 'muted', text: `${day.focus} (${day.intensity})` }),
        h('ul', { class: 'activities' }, (day.activities || []).map((a) => h('li', {},
          h('span', { class: 'time-of-day', text: label(a.time_of_day) }), ' ',
          h('strong', { text: a.name }),
          ` · ${label(a.category)} · ${a.duration_hours} h · ${money(a.cost_usd)}`)))))));
  }

  function table(caption, headings, rows) {
    return h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', { class: 'visually-hidden', text: caption }),
      h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', { text: c })))))));
  }

  function flightsSection(flights) {
    return h('section', { class: 'plan-part' }, h('h3', { text: 'Flights' }),
      flights.length
        ? table('Flights', ['Date', 'From', 'To', 'Cabin', 'Per person', 'Total'], flights.map((f) => [
          f.date, `${f.from_city} (${f.from_iata})`, `${f.to_city} (${f.to_iata})`, f.cabin,
          money(f.price_per_person_usd), money(f.total_usd)]))
        : h('p', { class: 'muted', text: 'No flights: no departure city was given.' }));
  }

  function hotelsSection(hotels) {
    return h('section', { class: 'plan-part' }, h('h3', { text: 'Hotels' }),
      table('Hotels', ['City', 'Area', 'Comfort', 'Nights', 'Rooms', 'Per night', 'Total'], hotels.map((stay) => [
        stay.city, stay.area, label(stay.tier), stay.nights, stay.rooms, money(stay.price_per_night_usd), money(stay.total_usd)])));
  }

  function preTripSection(pre) {
    const list = (title, items) => (items && items.length
      ? h('div', {}, h('h4', { text: title }), h('ul', {}, items.map((i) => h('li', { text: i })))) : null);
    const weather = (pre.weather || []).map((w) => `${w.city} in ${w.month}: ${Math.round(w.low_c)}–${Math.round(w.high_c)} °C, ${Math.round(w.rain_mm)} mm rain. ${w.summary}`);
    return h('section', { class: 'plan-part' }, h('h3', { text: 'Before you go' }),
      list('Checks', pre.checks), list('Packing', pre.packing), list('Money', pre.money_tips), list('Weather', weather));
  }

  // ---- jobs list ----

  const jobsPaging = { cursors: [null], page: 0, next: null };

  function jobsQuery(cursor) {
    const form = $('#jobs-filter');
    const params = new URLSearchParams();
    for (const name of ['user_id', 'status', 'mode', 'created_from', 'created_to', 'limit']) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    if (cursor) params.set('cursor', cursor);
    return `/v1/operator/jobs?${params}`;
  }

  async function loadJobs() {
    const view = $('#view-jobs');
    showError($('.view-error', view), null);
    const cursor = jobsPaging.cursors[jobsPaging.page];
    $('#jobs-summary').textContent = 'Loading…';
    try {
      const page = await api('GET', jobsQuery(cursor));
      jobsPaging.next = page.next_cursor;
      $('#jobs-table tbody').replaceChildren(...page.jobs.map(jobRow));
      $('#jobs-summary').textContent = page.jobs.length
        ? `Page ${jobsPaging.page + 1}: ${page.jobs.length} job${page.jobs.length === 1 ? '' : 's'}.`
        : (page.next_cursor ? `Page ${jobsPaging.page + 1}: no matching jobs here; look further with Older.` : 'No jobs match.');
    } catch (error) {
      jobsPaging.next = null;
      $('#jobs-table tbody').replaceChildren();
      $('#jobs-summary').textContent = '';
      showError($('.view-error', view), error);
    }
    $('#jobs-newer').disabled = jobsPaging.page === 0;
    $('#jobs-older').disabled = !jobsPaging.next;
  }

  function jobRow(job) {
    const actions = h('td', { class: 'actions' });
    const row = h('tr', { 'data-job': job.job_id, 'data-status': job.status },
      h('td', { text: when(job.created_at) }),
      h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.job_id)}`, 'aria-label': `Open job ${job.job_id}`, text: shortId(job.job_id) })),
      h('td', { text: job.user_id }),
      h('td', { text: label(job.mode) }),
      h('td', { class: 'status-cell' }, statusBadge(job.status)),
      h('td', { class: 'request', text: job.query || label(job.trigger_type) || '—' }),
      actions);
    if (!TERMINAL.includes(job.status)) actions.append(cancelControl(job, row));
    return row;
  }

  /** Cancel asks once more before it acts: a cancelled job cannot resume. */
  function cancelControl(job, row) {
    const wrap = h('span', { class: 'cancel-control' });
    const ask = h('button', { type: 'button', class: 'danger small', 'data-action': 'cancel', 'aria-label': `Cancel job ${job.job_id}`, text: 'Cancel' });
    ask.addEventListener('click', () => {
      const confirm = h('button', { type: 'button', class: 'danger small', 'data-action': 'confirm-cancel', text: 'Confirm cancel' });
      const keep = h('button', { type: 'button', class: 'secondary small', text: 'Keep it' });
      keep.addEventListener('click', () => { wrap.replaceChildren(ask); ask.focus(); });
      confirm.addEventListener('click', async () => {
        confirm.disabled = true;
        try {
          const answer = await api('POST', `/v1/jobs/${encodeURIComponent(job.job_id)}/cancel`);
          row.dataset.status = answer.status;
          $('.status-cell', row).replaceChildren(statusBadge(answer.status));
          wrap.replaceChildren(h('span', { class: 'muted', text: 'Cancelled' }));
          announce(`Job ${shortId(job.job_id)} cancelled.`);
        } catch (error) {
          showError($('.view-error', $('#view-jobs')), error);
          wrap.replaceChildren(ask);
        }
      });
      wrap.replaceChildren(confirm, ' ', keep);
      confirm.focus();
    });
    wrap.append(ask);
    return wrap;
  }

  function setupJobs() {
    $('#jobs-filter').addEventListener('submit', (event) => {
      event.preventDefault();
      jobsPaging.cursors = [null];
      jobsPaging.page = 0;
      loadJobs();
    });
    $('#jobs-older').addEventListener('click', () => {
      if (!jobsPaging.next) return;
      jobsPaging.cursors[jobsPaging.page + 1] = jobsPaging.next;
      jobsPaging.page += 1;
      loadJobs();
    });
    $('#jobs-newer').addEventListener('click', () => {
      if (jobsPaging.page === 0) return;
      jobsPaging.page -= 1;
      loadJobs();
    });
  }

  // ---- approvals ----

  async function loadApprovals() {
    const view = $('#view-approvals');
    showError($('.view-error', view), null);
    $('#approvals-summary').textContent = 'Loading…';
    const waiting = [];
    try {
      let cursor = null;
      // Every waiting job, page after page (a bounded number of pages).
      for (let pages = 0; pages < 20; pages += 1) {
        const query = new URLSearchParams({ status: 'waiting_approval', limit: '100' });
        if (cursor) query.set('cursor', cursor);
        const page = await api('GET', `/v1/operator/jobs?${query}`);
        waiting.push(...page.jobs);
        cursor = page.next_cursor;
        if (!cursor) break;
      }
    } catch (error) {
      $('#approvals-summary').textContent = '';
      $('#approvals-list').replaceChildren();
      showError($('.view-error', view), error);
      return;
    }
    $('#approvals-summary').textContent = waiting.length
      ? `${waiting.length} plan${waiting.length === 1 ? '' : 's'} waiting for approval.`
      : 'No plan is waiting for approval.';
    $('#approvals-list').replaceChildren(...waiting.map(approvalCard));
  }

  function approvalCard(job) {
    const data = (job.approval && job.approval.approval_data) || {};
    const titleId = `approval-${job.job_id}`;
    return h('article', { class: 'card', 'data-job': job.job_id, 'aria-labelledby': titleId },
      h('h2', { id: titleId }, h('a', { href: `#/jobs/${encodeURIComponent(job.job_id)}`, text: `Job ${shortId(job.job_id)}` }), ` for ${job.user_id}`),
      h('p', { class: 'request', text: job.query || label(job.trigger_type) || '' }),
      h('p', { class: 'muted', text: `Waiting since ${when(job.approval && job.approval.requested_at)}` }),
      approvalFacts(data),
      decisionForm(job.job_id, 'queue', () => { location.hash = `#/jobs/${encodeURIComponent(job.job_id)}`; }));
  }

  // ---- watchlists ----

  const TASK_OF_KIND = { price: 'price_check', calendar: 'calendar_check', budget: 'budget_check' };

  function watchSummary(w) {
    if (w.kind === 'price') {
      const routes = (w.routes || []).map((r) => `${r.origin} → ${r.destination}${r.departure_date ? ` on ${r.departure_date}` : ''}`).join('; ');
      return `${routes}${w.target_price_usd ? `, target ${money(w.target_price_usd)}` : ''}`;
    }
    if (w.kind === 'calendar') return `${w.ics_url || 'busy periods'}; free windows of ${w.min_gap_days ?? 3}+ days`;
    if (w.kind === 'budget') return `${money(w.budget_usd)} budget, ${money(w.spent_usd)} spent${w.period ? ` (${w.period})` : ''}`;
    return '';
  }

  async function loadWatchlists() {
    const view = $('#view-watchlists');
    const form = $('#watchlists-user');
    if (!form.elements.user_id.value) form.elements.user_id.value = userId();
    const user = form.elements.user_id.value.trim();
    showError($('.view-error', view), null);
    try {
      const list = await api('GET', `/v1/watchlists?${new URLSearchParams({ user_id: user })}`);
      rememberUser(user);
      $('#watchlists-summary').textContent = list.watchlists.length
        ? `${list.watchlists.length} watchlist${list.watchlists.length === 1 ? '' : 's'} for ${user}.`
        : `${user} has no watchlists.`;
      $('#watchlists-table tbody').replaceChildren(...list.watchlists.map(watchRow));
    } catch (error) {
      $('#watchlists-summary').textContent = '';
      $('#watchlists-table tbody').replaceChildren();
      showError($('.view-error', view), error);
    }
  }

  function watchRow(w) {
    const name = w.name || `${label(w.kind)} watchlist`;
    const run = h('button', { type: 'button', class: 'secondary small', 'data-action': 'run', 'aria-label': `Run the ${w.kind} check now (${name})`, text: 'Run now' });
    run.addEventListener('click', () => runMonitor(TASK_OF_KIND[w.kind]));
    const remove = h('button', { type: 'button', class: 'danger small', 'data-action': 'delete', 'aria-label': `Delete ${name}`, text: 'Delete' });
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      try {
        await api('DELETE', `/v1/watchlists/${encodeURIComponent(w.watchlist_id)}`);
        announce(`${name} deleted.`);
        loadWatchlists();
      } catch (error) {
        remove.disabled = false;
        showError($('.view-error', $('#view-watchlists')), error);
      }
    });
    return h('tr', { 'data-watchlist': w.watchlist_id },
      h('th', { scope: 'row', text: name }),
      h('td', { text: label(w.kind) }),
      h('td', { text: w.active ? 'yes' : 'paused' }),
      h('td', { text: watchSummary(w) }),
      h('td', { class: 'actions' }, run, ' ', remove));
  }

  async function runMonitor(task) {
    const report = $('#monitor-report');
    report.replaceChildren(h('p', { text: `Running the ${label(task)}…` }));
    try {
      const result = await api('POST', `/v1/scheduler/${task}/run`);
      report.replaceChildren(
        h('p', { 'data-task': task, text: `${label(task)}: ${result.watchlists_checked} watchlist${result.watchlists_checked === 1 ? '' : 's'} checked, ${result.jobs.length} suggestion${result.jobs.length === 1 ? '' : 's'} started.` }),
        result.jobs.length ? h('ul', {}, result.jobs.map((j) => h('li', {},
          h('a', { href: `#/jobs/${encodeURIComponent(j.job_id)}`, text: `${label(j.trigger_type)} for ${j.user_id}` })))) : null,
        result.skipped.length ? h('ul', { class: 'muted' }, result.skipped.map((sk) => h('li', { text: `Skipped: ${sk.reason}` }))) : null);
    } catch (error) {
      report.replaceChildren();
      showError($('.view-error', $('#view-watchlists')), error);
    }
  }

  function watchlistRequest(form) {
    const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : '');
    const number = (name) => (value(name) ? Number(value(name)) : undefined);
    const kind = value('kind');
    const body = { user_id: $('#watch-user').value.trim() || userId(), kind };
    if (value('name')) body.name = value('name');
    const preferences = {};
    if (kind === 'price') {
      body.routes = [{ origin: value('origin'), destination: value('destination') }];
      if (value('departure_date')) body.routes[0].departure_date = value('departure_date');
      if (number('target_price_usd') !== undefined) body.target_price_usd = number('target_price_usd');
    } else if (kind === 'calendar') {
      if (value('ics_url')) body.ics_url = value('ics_url');
      if (value('busy_start') || value('busy_end')) body.busy = [{ start: value('busy_start'), end: value('busy_end') || value('busy_start') }];
      if (number('min_gap_days') !== undefined) body.min_gap_days = number('min_gap_days');
    } else if (kind === 'budget') {
      for (const name of ['budget_usd', 'spent_usd', 'min_surplus_usd']) {
        if (number(name) !== undefined) body[name] = number(name);
      }
      if (value('period')) body.period = value('period');
    }
    if (kind !== 'price') {
      if (value('departure_city')) preferences.departure_city = value('departure_city');
      const interests = value('interests').split(',').map((i) => i.trim()).filter(Boolean);
      if (interests.length) preferences.interests = interests;
      if (Object.keys(preferences).length) body.preferences = preferences;
    }
    return body;
  }

  function setupWatchlists() {
    $('#watchlists-user').addEventListener('submit', (event) => {
      event.preventDefault();
      loadWatchlists();
    });
    for (const button of $$('[data-run]')) {
      button.addEventListener('click', () => runMonitor(button.dataset.run));
    }
    const form = $('#watch-form');
    const showKind = () => {
      const kind = form.elements.kind.value;
      for (const set of $$('fieldset[data-kind]', form)) {
        const on = set.dataset.kind.split(' ').includes(kind);
        set.hidden = !on;
        set.disabled = !on;
      }
    };
    form.elements.kind.addEventListener('change', showKind);
    showKind();
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const region = $('.form-error', form);
      try {
        const created = await api('POST', '/v1/watchlists', watchlistRequest(form));
        showError(region, null);
        announce(`Watchlist ${created.name || created.watchlist_id} created.`);
        $('#watch-user').value = created.user_id;
        form.reset();
        showKind();
        loadWatchlists();
      } catch (error) {
        showError(region, error);
      }
    });
  }

  // ---- start ----

  function start() {
    setupKeyPanel();
    setupPlanForm();
    setupJobs();
    setupWatchlists();
    $('#approvals-refresh').addEventListener('click', loadApprovals);
    window.addEventListener('hashchange', route);
    route();
    // Learn at once whether the service wants a key, before the first form.
    api('GET', '/v1/operator/jobs?limit=1').catch(() => {});
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
