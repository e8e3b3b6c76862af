/**
 * The experiment report end to end: a realistic fake ExperimentSummary (3 arms × 3 seeds, one
 * failed child, EES rounds, one QualityStudy with its map JSONL) → writeExperimentReport →
 * the files, the Markdown table, and report.html opened in a real headless Chromium (Debian's
 * /usr/bin/chromium via playwright-core): no console or page errors, no request leaving the
 * file, every chart an SVG with marks, and nothing wider than the window (1280 px, 900 px and a
 * 640 px fallback) outside a horizontally scrollable container; at 1280 and 900 px the two results
 * tables fit without scrolling. Saves full-page screenshots to test-output/report.png (1280 px
 * wide) and test-output/report-900.png.
 * KEEP_REPORT=1 keeps the temporary directory with the report (its path starts with s3-report-).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeJsonl } from '../../data/jsonl.js';
import type { ArmSeedResult, ExperimentSummary, MethodName, QualityStudy } from '../../domain/experiment.js';
import { Rng } from '../../domain/rng.js';
import type { RoundResult, SplitMetrics } from '../../domain/types.js';
import { chartIds, experimentCharts, renderChart } from '../../report/charts.js';
import { armSummaries } from '../../domain/statistics.js';
import {
  EXPERIMENT_TABLE_HEAD,
  experimentTableRows,
  RESULTS_TABLE_PARTS,
  writeExperimentReport,
} from '../../report/experimentReport.js';

const CHROMIUM = '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOT = join(REPO, 'test-output', 'report.png');
/** Window widths (px) the layout is checked at; `fits`: the results tables need no scrolling. */
const WIDTHS = [
  { width: 1280, fits: true, screenshot: SCREENSHOT },
  { width: 900, fits: true, screenshot: join(REPO, 'test-output', 'report-900.png') },
  { width: 640, fits: false, screenshot: null },
] as const;

/**
 * Runs in the page: what sticks out of the window horizontally. An element inside a container
 * whose overflow-x is auto/scroll/hidden is clipped there and not counted (its container is).
 * @returns the document's scroll width, the window's inner width, the elements outside the window
 *   ("tag.class right=px"), tables neither fitting nor in a scroll container, and for each results
 *   table its part, its wrapper's scroll and client widths, and whether its last head is visible
 */
function horizontalLayout() {
  const scrolls = (el: Element) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
  const inScroller = (el: Element): Element | null => {
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) if (scrolls(a)) return a;
    return null;
  };
  const W = window.innerWidth;
  const name = (el: Element) =>
    `${el.tagName.toLowerCase()}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}`;
  const outside = [...document.body.querySelectorAll('*')]
    .filter((el) => inScroller(el) === null && el.getBoundingClientRect().right > W + 0.5)
    .map((el) => `${name(el)} right=${el.getBoundingClientRect().right.toFixed(0)}`);
  const looseTables = [...document.querySelectorAll('table')]
    .filter((t) => {
      const box = inScroller(t);
      return (
        (box === null || getComputedStyle(box).overflowX === 'hidden') && t.getBoundingClientRect().right > W + 0.5
      );
    })
    .map((t) => name(t));
  const results = [...document.querySelectorAll('table.results')].map((t) => {
    const wrap = t.parentElement!;
    const lastTh = t.querySelector('thead th:last-child')!;
    return {
      part: t.getAttribute('data-part'),
      wrapOverflowX: getComputedStyle(wrap).overflowX,
      scrollWidth: wrap.scrollWidth,
      clientWidth: wrap.clientWidth,
      lastHeadVisible: lastTh.getBoundingClientRect().right <= wrap.getBoundingClientRect().right + 0.5,
    };
  });
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: W, outside, looseTables, results };
}

const tmp = await mkdtemp(join(tmpdir(), 's3-report-'));
after(() => (process.env.KEEP_REPORT ? undefined : rm(tmp, { recursive: true, force: true })));

const LABELS = ['ham', 'spam'];

function split(accuracy: number, macroF1: number): SplitMetrics {
  return { count: 400, accuracy, macroF1, misclassified: Math.round(400 * (1 - accuracy)) };
}

/** A fake child with plausible numbers drawn from a seeded Rng. */
function child(
  arm: string,
  method: MethodName,
  seed: number,
  base: number,
  nRounds: number,
  opts: { failed?: string; trainedOnVal?: boolean; tokensPerRound?: number } = {},
): ArmSeedResult {
  const rng = new Rng(seed, `fake:${arm}`);
  const rounds: RoundResult[] = [];
  let acc = base + 0.03 * (rng.next() - 0.5);
  for (let q = 0; q < nRounds; q++) {
    if (q > 0) acc = Math.min(0.99, acc + 0.02 + 0.02 * rng.next());
    const tokens = opts.tokensPerRound ?? 0;
    rounds.push({
      round: q,
      origin: q === 0 ? 'seed' : 'ees',
      added: q === 0 ? 200 : 100,
      trainSize: 200 + 100 * q,
      validation: split(acc + 0.03, acc + 0.01),
      test: split(acc, acc - 0.02),
      teacher: {
        calls: 60,
        cachedCalls: 5,
        promptTokens: Math.round(tokens * 0.7),
        completionTokens: Math.round(tokens * 0.3),
        rejected: 3,
        teacherMs: 30_000,
      },
      studentMs: 1500,
    });
  }
  const failed = opts.failed !== undefined;
  const last = rounds.at(-1)!;
  const tokens = (opts.tokensPerRound ?? 0) * nRounds;
  const gold = method === 'gold-validation' ? 200 : 0;
  return {
    experimentId: 'spam-2024',
    arm,
    method,
    seed,
    workflowId: `spam-2024/${arm}/seed-${seed}`,
    status: failed ? 'failed' : 'completed',
    error: opts.failed,
    runDir: join(tmp, 'runs', arm, `seed-${seed}`),
    budget: { kind: 'examples', limit: 400 },
    used: {
      syntheticExamples: gold > 0 ? 0 : 200 + 100 * (nRounds - 1),
      goldExamples: gold,
      tokens,
      paidCalls: failed ? 17 : 50 * nRounds,
      reusedCalls: failed ? 0 : 10 * nRounds,
      filledUp: 0,
    },
    rounds: failed ? [] : rounds,
    test: failed ? null : last.test,
    validation: failed || opts.trainedOnVal ? null : last.validation,
    usage: { calls: 60, cachedCalls: 5, promptTokens: 0, completionTokens: 0, rejected: 0, teacherMs: 0 },
    dataset: null,
    ...(failed || gold > 0
      ? {}
      : {
          labelAgreement: {
            reference: {
              student: 'tfidf-logreg' as const,
              trainedOn: 'gold-train' as const,
              examples: 4000,
              heldOut: { on: 'gold-validation' as const, count: 200, accuracy: 0.95 + seed / 100 },
            },
            overall: { count: 300, agree: 180 + 10 * seed, rate: (180 + 10 * seed) / 300 },
            byOrigin: {
              seed: { count: 200, agree: 110 + 10 * seed, rate: (110 + 10 * seed) / 200 },
              ...(nRounds > 1 ? { 'ees-1': { count: 100, agree: 70, rate: 0.7 } } : {}),
            },
            byClass: {
              ham: { count: 150, agree: 100, rate: 100 / 150 },
              spam: { count: 150, agree: 80, rate: 80 / 150 },
            },
          },
        }),
    stopReason: failed ? null : 'budget',
    warnings: [],
    wallMs: 120_000,
  };
}

async function fakeSummary(): Promise<ExperimentSummary> {
  const seeds = [1, 2, 3];
  const results: ArmSeedResult[] = [];
  for (const s of seeds) {
    results.push(child('s3', 's3', s, 0.82, 3, { tokensPerRound: 60_000 }));
    results.push(
      s === 2
        ? child('zerogen', 'zerogen', s, 0.78, 1, {
            failed: 'TeacherError: backend returned 503 <script>alert("x")</script> & gave up after 5 attempts',
          })
        : child('zerogen', 'zerogen', s, 0.78, 1, { tokensPerRound: 150_000 }),
    );
    results.push(child('gold-validation', 'gold-validation', s, 0.85, 1, { trainedOnVal: true }));
  }
  // the 2-D map: two gold-test clusters per label, synthetic points around some of them
  const rng = new Rng(7, 'map');
  const rows: { x: number; y: number; set: 'gold-test' | 'synthetic'; label: string }[] = [];
  for (const [i, label] of LABELS.entries())
    for (let k = 0; k < 60; k++) {
      rows.push({ x: 4 * i + rng.next() * 3, y: 2 * i + rng.next() * 3, set: 'gold-test', label });
      if (k % 2 === 0)
        rows.push({ x: 4 * i + 0.5 + rng.next() * 2, y: 2 * i + rng.next() * 2, set: 'synthetic', label });
    }
  const map = await writeJsonl(join(tmp, 'runs', 's3', 'seed-1', 'quality', 'map.jsonl'), rows);
  const quality: QualityStudy = {
    arm: 's3',
    seed: 1,
    features: 'TF-IDF, random projection to 256 dims',
    pairs: { count: 87, cosine: 0.412, editDistance: 143.6, goldWords: 41.2, syntheticWords: 28.9 },
    coverage: { gamma: 0.5213, gammaRule: 'median nearest-neighbour distance among gold test points', share: 0.734 },
    map,
  };
  return {
    experimentId: 'spam-2024',
    config: { task: 'spam', teacher: { provider: 'openai', apiKeyEnv: 'OPENAI_API_KEY' } },
    budget: { kind: 'examples', limit: 400 },
    seeds,
    arms: [
      { name: 's3', method: 's3' },
      { name: 'zerogen', method: 'zerogen' },
      { name: 'gold-validation', method: 'gold-validation' },
    ],
    results,
    quality: [quality],
    wallMs: 3_725_000,
  };
}

test('writeExperimentReport writes the four files; report.html renders in Chromium with every chart', async () => {
  if (!existsSync(CHROMIUM))
    assert.fail(`${CHROMIUM} is missing: run \`S3_BROWSER=1 bash scripts/setup.sh\` to install Debian's chromium`);
  const summary = await fakeSummary();
  const out = join(tmp, 'report');
  const paths = await writeExperimentReport(summary, out);
  for (const p of Object.values(paths)) assert.ok(existsSync(p), `${p} missing`);

  // results.jsonl: one row per ArmSeedResult; results.json: the summary
  const jsonl = (await readFile(paths.resultsJsonl, 'utf8')).trim().split('\n');
  assert.equal(jsonl.length, 9);
  assert.deepEqual(
    jsonl.map((l) => {
      const r = JSON.parse(l) as ArmSeedResult;
      return `${r.arm}/${r.seed}/${r.status}`;
    }),
    summary.results.map((r) => `${r.arm}/${r.seed}/${r.status}`),
  );
  assert.deepEqual(JSON.parse(await readFile(paths.resultsJson, 'utf8')), JSON.parse(JSON.stringify(summary)));

  // report.md: the same table as the CLI
  const md = await readFile(paths.md, 'utf8');
  const rows = experimentTableRows(summary);
  assert.equal(rows.length, 3);
  assert.ok(md.includes(`| ${EXPERIMENT_TABLE_HEAD.join(' | ')} |`), 'md table head');
  for (const r of rows) assert.ok(md.includes(`| ${r.join(' | ')} |`), `md row ${r[0]}`);
  const row = (arm: string) => rows.find((r) => r[0] === arm)!;
  const [s3, zg, gv] = [row('s3'), row('zerogen'), row('gold-validation')];
  const means = rows.map((r) => (r[3] === '—' ? -1 : parseFloat(r[3])));
  assert.deepEqual(
    means,
    [...means].sort((a, b) => b - a),
    'rows ranked by mean test accuracy',
  );
  assert.equal(s3[2], '3/0');
  assert.equal(zg[2], '2/1');
  assert.equal(s3[7], 'reference');
  assert.match(zg[7], /^[+−]?\d+\.\d pp \[[+−]?\d+\.\d, [+−]?\d+\.\d\] \(n=2\)$/);
  assert.equal(gv[5], 'n/a (trained on val)');
  assert.match(s3[3], /^\d+\.\d ± \d+\.\d%$/);
  assert.equal(zg[11], `${50 + 50 + 17}/${10 + 10}`, 'paid calls include the failed child');
  // label agreement: mean ± std over seeds of overall.rate (s3: 190, 200, 210 of 300); none for gold arms
  assert.equal(s3[12], '66.7 ± 3.3%');
  assert.equal(gv[12], '—');
  assert.match(md, /# Experiment spam-2024/);
  assert.match(md, /TeacherError: backend returned 503/);
  assert.match(md, /\| s3 \| 1 \| TF-IDF, random projection to 256 dims \| 0\.521 \|/);

  // report.html: self-contained, escaped
  const html = await readFile(paths.html, 'utf8');
  assert.doesNotMatch(html, /<script/i, 'no script (the failed child’s error is escaped)');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; gave up'), 'error text escaped');
  assert.doesNotMatch(html, /https?:\/\//, 'no URL at all in report.html');
  assert.doesNotMatch(html, /\b(src|href)="(?!#)/, 'no external src/href');
  assert.match(html, /1 h 02 min/);
  assert.match(html, /400 training examples per arm and seed/);
  assert.match(html, /only 3 seeds this interval is crude/);
  assert.match(html, /73\.4%/, 'coverage share of Table 8');

  const expectedCharts = chartIds(summary, armSummaries(summary, 's3'));
  // vega-lite / vega logged nothing while compiling and rendering
  const rendered = await experimentCharts(summary, armSummaries(summary, 's3'));
  assert.deepEqual(
    rendered.map((c) => [c.id, c.warnings]),
    rendered.map((c) => [c.id, []]),
  );
  assert.deepEqual(expectedCharts, [
    'round-accuracy',
    'accuracy-vs-tokens',
    'learning-curves',
    'final-accuracy',
    'paired-diff',
    'label-agreement',
    'quality-map-1',
  ]);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTHS[0].width, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(paths.html).href;
    await page.goto(url, { waitUntil: 'load' });
    assert.equal(await page.title(), 'Experiment spam-2024 — s3-synth');
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector(':scope > svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: f.getAttribute('data-chart'),
          svgs: f.querySelectorAll('svg').length,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg
            ? svg.querySelectorAll('.role-mark path, .role-mark circle, .role-mark rect, .role-mark line').length
            : 0,
          text: svg?.textContent ?? '',
        };
      }),
    );
    assert.deepEqual(
      charts.map((c) => c.id),
      expectedCharts,
    );
    for (const c of charts) {
      assert.equal(c.svgs, 1, `${c.id}: one svg`);
      assert.ok(c.width > 100 && c.height > 100, `${c.id}: rendered size ${c.width}×${c.height}`);
      assert.ok(c.marks > 0, `${c.id}: no marks`);
    }
    const byId = new Map(charts.map((c) => [c.id, c]));
    // the map has 120 gold-test + 60 synthetic points; bars: 3 arms; the legend names the arms
    assert.ok(byId.get('quality-map-1')!.marks >= 180, `map marks ${byId.get('quality-map-1')!.marks}`);
    assert.match(byId.get('round-accuracy')!.text, /s3/);
    assert.doesNotMatch(byId.get('round-accuracy')!.text, /zerogen/, 'one-round arms are not in the round chart');
    assert.match(byId.get('paired-diff')!.text, /zerogen/);
    assert.match(byId.get('paired-diff')!.text, /gold-validation/);
    assert.match(byId.get('label-agreement')!.text, /ees-1/);
    assert.doesNotMatch(byId.get('label-agreement')!.text, /gold-validation/, 'gold arms have no synthetic labels');
    assert.equal(await page.locator('.chart-missing').count(), 0);
    // the results table as the browser sees it: two tables (scores; cost and data), each with
    // the arm first and the rows in the same order, together every column of the one table
    const parts = await page.$$eval('table.results', (ts) =>
      ts.map((t) => ({
        part: t.getAttribute('data-part'),
        head: [...t.querySelectorAll('thead th')].map((th) => th.textContent),
        titled: [...t.querySelectorAll('thead th[title]')].map((th) => th.textContent),
        cells: [...t.querySelectorAll('tbody tr')].map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => td.textContent),
        ),
      })),
    );
    assert.deepEqual(
      parts.map((p) => p.part),
      RESULTS_TABLE_PARTS.map((p) => p.id),
    );
    for (const [k, p] of parts.entries()) {
      const idx = RESULTS_TABLE_PARTS[k].columns.map((c) => EXPERIMENT_TABLE_HEAD.indexOf(c));
      assert.deepEqual(
        p.head,
        idx.map((i) => EXPERIMENT_TABLE_HEAD[i]),
        `${p.part}: head`,
      );
      assert.deepEqual(
        p.cells,
        rows.map((r) => idx.map((i) => r[i])),
        `${p.part}: cells`,
      );
      assert.equal(p.head[0], 'arm');
    }
    assert.deepEqual(
      [...new Set(parts.flatMap((p) => p.head))].sort(),
      [...EXPERIMENT_TABLE_HEAD].sort(),
      'the two tables hold every column of the one table',
    );
    assert.ok(parts[1].titled.includes('AUC acc×tokens'), 'terse heads explain themselves on hover');
    assert.equal(await page.locator('table.failed tbody tr').count(), 1);
    assert.match((await page.locator('table.failed').textContent()) ?? '', /<script>alert\("x"\)<\/script> & gave up/);

    // nothing sticks out of the window unless it is in a scroll container; the results tables
    // fit without scrolling at 1280 and 900 px and scroll inside their box below that
    await mkdir(join(REPO, 'test-output'), { recursive: true });
    // tsx compiles with keepNames: the helper's named inner functions call __name, which the page lacks
    await page.evaluate('globalThis.__name = (f) => f');
    for (const w of WIDTHS) {
      await page.setViewportSize({ width: w.width, height: 900 });
      const l = await page.evaluate(horizontalLayout);
      assert.equal(l.innerWidth, w.width);
      assert.deepEqual(l.outside, [], `${w.width} px: elements past the window's right edge`);
      assert.deepEqual(l.looseTables, [], `${w.width} px: tables wider than the window outside a scroll container`);
      assert.ok(l.scrollWidth <= l.innerWidth, `${w.width} px: page ${l.scrollWidth} px wide`);
      assert.equal(l.results.length, RESULTS_TABLE_PARTS.length);
      for (const r of l.results) {
        assert.equal(r.wrapOverflowX, 'auto', `${w.width} px ${r.part}: scrollable wrapper`);
        if (w.fits) {
          assert.ok(r.scrollWidth <= r.clientWidth, `${w.width} px ${r.part}: ${r.scrollWidth} > ${r.clientWidth} px`);
          assert.ok(r.lastHeadVisible, `${w.width} px ${r.part}: last column cut`);
        }
      }
      if (w.screenshot) await page.screenshot({ path: w.screenshot, fullPage: true });
    }
    assert.deepEqual(problems, [], 'console / page errors');
    assert.deepEqual(
      requests.filter((u) => u !== url),
      [],
      'the page loaded nothing but itself',
    );
  } finally {
    await browser.close();
  }
  for (const w of WIDTHS) if (w.screenshot) assert.ok(existsSync(w.screenshot), w.screenshot);
});

test('a QualityStudy whose map file is missing gives a note, not a failed report', async () => {
  const summary = await fakeSummary();
  summary.quality[0] = { ...summary.quality[0], map: { ...summary.quality[0].map, path: join(tmp, 'nope.jsonl') } };
  const paths = await writeExperimentReport(summary, join(tmp, 'report-missing-map'));
  const html = await readFile(paths.html, 'utf8');
  assert.match(html, /data-chart-missing="quality-map-1"/);
  assert.match(html, /nope\.jsonl/);
  assert.equal((html.match(/<figure class="chart"/g) ?? []).length, 6);
});

test('renderChart renders offline only: a spec that loads data by URL is an error, inline data is fine', async () => {
  const encoding = { x: { field: 'a', type: 'quantitative' } };
  await assert.rejects(
    renderChart({ data: { url: 'http://127.0.0.1:9/x.json' }, mark: 'point', encoding }, 'u'),
    /refused to load http:\/\/127\.0\.0\.1:9\/x\.json/,
  );
  const { svg, warnings } = await renderChart(
    { data: { values: [{ a: 1 }, { a: 2 }] }, mark: 'point', encoding },
    'ok',
  );
  assert.deepEqual(warnings, []);
  assert.match(svg, /^<svg /);
  assert.doesNotMatch(svg, /xmlns|https?:/);
  assert.equal((svg.match(/<path /g) ?? []).length >= 2, true, 'two points drawn');
});
