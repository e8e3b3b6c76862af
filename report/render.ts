/**
 * Headless, offline rendering of a Vega-Lite spec to SVG (report/charts.ts builds the specs):
 * vega-lite's `compile`, then vega's `View` with renderer "none" and `toSVG()`. Every spec
 * carries its data inline; the View's loader refuses every load; text is set in the generic
 * "sans-serif" family; element ids are prefixed per chart so several SVGs can share a page.
 *
 * Sources: Satyanarayan et al. (2017), "Vega-Lite: A Grammar of Interactive Graphics", IEEE
 * TVCG 23(1); the vega View API documentation (`toSVG`, headless rendering).
 */
import { Warn, logger, parse, View, type Loader, type LoggerInterface, type Spec } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A Vega-Lite specification (plain JSON object). */
export type VegaLiteSpec = Record<string, unknown>;

/** One rendered chart of the report. */
export interface Chart {
  /** stable id, unique in the report (also the prefix of the SVG's element ids) */
  id: string;
  title: string;
  /** one or two sentences saying what is drawn */
  caption: string;
  /** the SVG markup; null when the chart could not be made (see `error`) */
  svg: string | null;
  /** why there is no SVG (e.g. the map file is missing) */
  error?: string;
  /** warnings of vega-lite / vega while compiling and rendering (expected: none) */
  warnings: string[];
}

const BASE_CONFIG = {
  font: 'sans-serif',
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
};

/** A loader that refuses every URL and file and records what was asked for: the report must
 * render with no I/O at all (vega only warns "Loading failed", so the caller checks `refused`). */
function offlineLoader(refused: string[]): Loader {
  const refuse = async (uri: string): Promise<never> => {
    refused.push(uri);
    throw new Error(`offline chart rendering: refused to load ${uri}`);
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse };
}

/** Logger that collects warnings and errors instead of printing them. */
function collectingLogger(warnings: string[], errors: string[]): LoggerInterface {
  return logger(Warn, undefined, (method, level, args) => {
    const text = `${level} ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`.trim();
    (method === 'error' ? errors : warnings).push(text);
  });
}

/** Makes the SVG's ids (clip paths, gradients) unique to this chart and drops the namespace
 * URIs, which inline SVG in HTML does not need. */
function scopeSvg(svg: string, prefix: string): string {
  return svg
    .replace(/ xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

/**
 * Compiles a Vega-Lite spec and renders it headless to SVG.
 * @param spec Vega-Lite specification with inline data (`data.values`); `config` is merged over
 *   the report's defaults (sans-serif, white background)
 * @param idPrefix prefix of the SVG's element ids (letters, digits, "-")
 * @returns the SVG markup (no XML namespaces; ids prefixed) and the warnings vega-lite/vega logged
 * @throws Error when vega-lite cannot compile the spec, vega logs an error, rendering fails, or
 *   the spec references anything by URL or file name (the loader refuses every load)
 */
export async function renderChart(
  spec: VegaLiteSpec,
  idPrefix = 'chart',
): Promise<{ svg: string; warnings: string[] }> {
  const warnings: string[] = [];
  const errors: string[] = [];
  const log = collectingLogger(warnings, errors);
  const config = { ...BASE_CONFIG, ...((spec.config as object | undefined) ?? {}) };
  const vg = compile({ ...spec, config } as unknown as TopLevelSpec, { logger: log }).spec;
  const refused: string[] = [];
  const view = new View(parse(vg as Spec), { renderer: 'none', loader: offlineLoader(refused), logger: log });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0) errors.push(`refused to load ${refused.join(', ')} (charts must carry their data inline)`);
    if (errors.length > 0) throw new Error(`chart ${idPrefix}: ${errors.join('; ')}`);
    return { svg: scopeSvg(svg, idPrefix), warnings };
  } finally {
    view.finalize();
  }
}
