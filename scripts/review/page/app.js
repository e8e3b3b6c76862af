/* global document, window, fetch, setTimeout, clearTimeout */
/**
 * The review page (issue 20; served by scripts/review/server.ts): the round waiting for review,
 * one card per synthetic example with its provenance, keyboard decisions, and Submit, which
 * sends the `review` Update through the local server. preact + htm, loaded from the server
 * (index.html's import map); the page fetches nothing but its own server's /api/*.
 *
 * Keys: j / ↓ next, k / ↑ previous, a approve, r reject, 1…9 relabel to the n-th label
 * (its own label: approve), Ctrl+Enter submit. A decision moves to the next example.
 */
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const POLL_MS = 1000;

/** The `review` Update's decisions for the marks: a relabel to the example's own label approves it. */
export function decisionsOf(examples, marks) {
  const out = [];
  for (const e of examples) {
    const m = marks[e.id];
    if (!m || (m.action === 'relabel' && m.label === e.label)) continue;
    out.push(m.action === 'reject' ? { id: e.id, action: 'reject' } : { id: e.id, action: 'relabel', label: m.label });
  }
  return out;
}

async function getRound() {
  const res = await fetch('/api/round', { cache: 'no-store' });
  return res.json();
}

/** "extrapolates gold <id> (gold label L; the student predicted P, loss x; picked by rule):" */
function goldLine(g) {
  const student = g.predicted !== undefined ? `; the student predicted ${g.predicted}` : '';
  const loss = g.loss !== undefined ? `, loss ${g.loss.toFixed(2)}` : '';
  const rule = g.acquisition ? `; picked by ${g.acquisition.name}` : '';
  return `extrapolates gold ${g.id} (gold label ${g.label}${student}${loss}${rule}):`;
}

function Example({ e, i, mark, current, onPick }) {
  const cls = [
    'example',
    current ? 'current' : '',
    mark?.action === 'reject' ? 'rejected' : '',
    mark?.action === 'relabel' ? 'relabelled' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const verdict = !mark ? 'approve' : mark.action === 'reject' ? 'reject' : `relabel → ${mark.label}`;
  const g = e.extrapolates;
  return html`<li class=${cls} data-id=${e.id} data-verdict=${verdict} onClick=${() => onPick(i)}>
    <div class="head">
      <span>#${i + 1}</span>
      <span class="id">${e.id}</span>
      <span>label asked: <span class=${`label${mark?.action === 'relabel' ? ' old' : ''}`}>${e.label}</span></span>
      ${mark?.action === 'relabel' && html`<span>human label: <span class="label">${mark.label}</span></span>`}
      <span class=${`verdict ${mark?.action ?? 'approve'}`}>${verdict}</span>
      <span>${e.origin}${e.origin === 'seed' ? '' : ` round ${e.round}`}</span>
    </div>
    <div class="text">${e.text}</div>
    ${e.text_pair !== undefined && html`<div class="text pair">${e.text_pair}</div>`}
    <div class="prov">
      ${
        e.rationales.length > 0 &&
        html`<details open=${current}>
          <summary>rationales (${e.rationales.length})</summary>
          <ul>
            ${e.rationales.map((r) => html`<li>${r}</li>`)}
          </ul>
        </details>`
      }
      ${
        g &&
        html`<div class="gold">
          <div>${goldLine(g)}</div>
          <div class="text">${g.text}</div>
          ${g.text_pair !== undefined && html`<div class="text pair">${g.text_pair}</div>`}
        </div>`
      }
      ${
        e.reference &&
        html`<div>reference classifier: ${e.reference.label} (p(label asked) = ${e.reference.p.toFixed(2)})</div>`
      }
    </div>
  </li>`;
}

function Waiting({ view, onSubmitted, onStale }) {
  const [marks, setMarksState] = useState({});
  // the marks a submit sends, updated as soon as a key marks: Ctrl+Enter right after a mark, before
  // preact re-renders, must send that mark too
  const marksNow = useRef({});
  const setMark = useCallback((id, m) => {
    marksNow.current = { ...marksNow.current, [id]: m };
    setMarksState(marksNow.current);
  }, []);
  const [cursor, setCursorState] = useState(0);
  // the cursor the next key acts on, updated as soon as a key moves it: a keydown that arrives
  // before preact re-renders (a fast typist, a loaded machine) must not act on the previous example
  const cursorNow = useRef(0);
  const setCursor = useCallback((c) => {
    cursorNow.current = c;
    setCursorState(c);
  }, []);
  const [by, setBy] = useState(view.by);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const n = view.examples.length;
  const counts = { reject: 0, relabel: 0 };
  for (const d of decisionsOf(view.examples, marks)) counts[d.action]++;

  const submit = useCallback(async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const decisions = decisionsOf(view.examples, marksNow.current);
      const res = await fetch('/api/review', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ round: view.round, by, decisions }),
      });
      const body = await res.json();
      if (body.stale) return onStale(body.error);
      if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
      onSubmitted({
        round: view.round,
        examples: n,
        rejected: decisions.filter((d) => d.action === 'reject').length,
        relabelled: decisions.filter((d) => d.action === 'relabel').length,
      });
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  }, [busy, by, view, n, onSubmitted, onStale]);

  // the latest render's values for the key handler, which is registered once
  const latest = useRef();
  latest.current = { n, view, submit };

  useEffect(() => {
    const onKey = (ev) => {
      const { n, view, submit } = latest.current;
      if (ev.target instanceof window.HTMLInputElement) return;
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) return (ev.preventDefault(), void submit());
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const cursor = cursorNow.current;
      const mark = (m) => {
        const id = view.examples[cursor]?.id;
        if (id === undefined) return;
        setMark(id, m);
        setCursor(Math.min(n - 1, cursor + 1));
      };
      if (ev.key === 'j' || ev.key === 'ArrowDown') setCursor(Math.min(n - 1, cursor + 1));
      else if (ev.key === 'k' || ev.key === 'ArrowUp') setCursor(Math.max(0, cursor - 1));
      else if (ev.key === 'a') mark(undefined);
      else if (ev.key === 'r') mark({ action: 'reject' });
      else if (/^[1-9]$/.test(ev.key) && Number(ev.key) <= view.labels.length)
        mark({ action: 'relabel', label: view.labels[Number(ev.key) - 1] });
      else return;
      ev.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [setCursor, setMark]);

  useEffect(() => {
    document.querySelector('li.example.current')?.scrollIntoView({ block: 'nearest' });
  }, [cursor]);

  return html`<header>
      <h1>${view.workflowId}: round ${view.round} waits for review (${n} examples)</h1>
      <div class="bar">
        <span class="counts">
          <span data-count="approve">${n - counts.reject - counts.relabel} approved</span>
          <span data-count="reject">${counts.reject} rejected</span>
          <span data-count="relabel">${counts.relabel} relabelled</span>
        </span>
        <label>reviewer <input value=${by} onInput=${(ev) => setBy(ev.target.value)} /></label>
        <button id="submit" disabled=${busy} onClick=${submit}>Submit review</button>
        ${view.timeoutMin !== undefined && html`<span class="keys">approved as it is after ${view.timeoutMin} min without a review</span>`}
      </div>
      <div class="keys">
        <kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>a</kbd> approve · <kbd>r</kbd> reject ·
        ${view.labels.slice(0, 9).map((l, i) => html`<kbd>${i + 1}</kbd> ${l} · `)} <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
        submit
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </header>
    <ol class="examples">
      ${view.examples.map(
        (e, i) =>
          html`<${Example}
            key=${e.id}
            e=${e}
            i=${i}
            mark=${marks[e.id]}
            current=${i === cursor}
            onPick=${setCursor}
          />`,
      )}
    </ol>`;
}

/** "Round q submitted: a approved, r rejected, l relabelled." */
function submittedLine(s) {
  const approved = s.examples - s.rejected - s.relabelled;
  return `Round ${s.round} submitted: ${approved} approved, ${s.rejected} rejected, ${s.relabelled} relabelled.`;
}

function App() {
  const [view, setView] = useState(null);
  const [last, setLast] = useState(null);
  const [error, setError] = useState(null);
  const timer = useRef(undefined);

  const refresh = useCallback(async () => {
    clearTimeout(timer.current);
    try {
      const v = await getRound();
      setError(null);
      setView(v);
      if (v.state === 'running' || v.state === 'error') timer.current = setTimeout(refresh, POLL_MS);
    } catch (err) {
      setError(`the review server does not answer (${err.message})`);
      timer.current = setTimeout(refresh, POLL_MS);
    }
  }, []);
  useEffect(() => {
    void refresh();
    return () => clearTimeout(timer.current);
  }, [refresh]);

  const onSubmitted = useCallback(
    (s) => {
      setLast({ id: 'submitted', text: submittedLine(s) });
      setView(null);
      void refresh();
    },
    [refresh],
  );
  // the round stopped waiting before the review arrived (its timeout approved it, or another reviewer)
  const onStale = useCallback(
    (reason) => {
      setLast({ id: 'stale', text: `Not submitted: ${reason}.` });
      setView(null);
      void refresh();
    },
    [refresh],
  );

  const done = last && html`<p class="note" id=${last.id}>${last.text}</p>`;
  if (error) return html`<p class="note error">${error}</p>`;
  if (!view)
    return html`${done}
      <p class="note">Loading…</p>`;
  if (view.state === 'waiting')
    return html`<${Waiting}
      key=${`${view.workflowId}/${view.round}`}
      view=${view}
      onSubmitted=${onSubmitted}
      onStale=${onStale}
    />`;
  if (view.state === 'finished')
    return html`<header><h1>${view.workflowId}</h1></header>
      ${done}
      <p class="note" id="status">Run finished (${view.status}).</p>`;
  if (view.state === 'error')
    return html`<header><h1>${view.workflowId}</h1></header>
      <p class="note error" id="status">${view.error}</p>`;
  return html`<header><h1>${view.workflowId}</h1></header>
    ${done}
    <p class="note" id="status">
      The run is running (${view.phase}, round ${view.round}; review ${view.mode}); no round waits for review. This page
      shows the next one when it does.
    </p>`;
}

render(html`<${App} />`, document.getElementById('app'));
