/**
 * Error messages of the configuration schemas: every invalid field as `path: message`, an
 * unknown key with the closest known one ("did you mean"), and for a discriminated union (the
 * teacher section) a key of another variant named with the variants that have it. Zod 4
 * internals (`_zod.def`) are read here and nowhere else.
 */
import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

/** Discriminated unions whose unknown keys name the other variants that have them (see
 * `unknownKeyLines`); elsewhere (task.source) an unknown key lists the variant's known keys. */
const NAMES_OTHER_VARIANTS = new Set<unknown>();

/** Marks a discriminated union whose unknown keys name the other variants that have them. */
export function namesOtherVariants(union: z.ZodType): void {
  NAMES_OTHER_VARIANTS.add(union);
}

/** A zod schema as far as `knownKeysAt` looks at it (zod 4 internals: `_zod.def`). */
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      innerType?: SchemaNode;
      in?: SchemaNode;
      shape?: Record<string, SchemaNode>;
      options?: SchemaNode[];
      discriminator?: string;
      values?: unknown[];
      element?: SchemaNode;
      valueType?: SchemaNode;
    };
    /** the values a key of an object (or union) can take; `undefined` when it may be omitted */
    propValues?: Record<string, Set<unknown>>;
  };
}

/** The schema under optional / default / prefault / nullable / pipe wrappers. */
function unwrap(s: SchemaNode): SchemaNode {
  for (;;) {
    const d = s._zod.def;
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** For a union: the option the raw value selects by its discriminator (an omitted discriminator
 * selects the option that defaults it), else every option. */
function optionsFor(s: SchemaNode, raw: unknown): SchemaNode[] {
  const { options = [], discriminator } = s._zod.def;
  if (discriminator && raw && typeof raw === 'object') {
    const v = (raw as Record<string, unknown>)[discriminator];
    const hit = options.filter((o) => unwrap(o)._zod.propValues?.[discriminator]?.has(v));
    if (hit.length) return hit;
  }
  return options;
}

/** The discriminator values that select a union option (its literal, never `undefined`). */
function tagsOf(option: SchemaNode, discriminator: string): string[] {
  return [...(option._zod.propValues?.[discriminator] ?? [])].filter((v) => v !== undefined).map(String);
}

/** What `knownKeysAt` finds at a path of the raw input. */
interface KeysAt {
  /** the keys the schema allows there */
  known: string[];
  /** at a discriminated union of NAMES_OTHER_VARIANTS: the discriminator and the value the raw input selects */
  variant?: { key: string; value: string };
  /** at a discriminated union of NAMES_OTHER_VARIANTS: keys that only other options allow, with those options' values */
  elsewhere: Map<string, string[]>;
}

/**
 * The keys the schema allows for the object at `path` of the raw input (for a discriminated
 * union, those of the variant the raw input selects, and which other variants have the rest).
 */
function knownKeysAt(schema: SchemaNode, path: readonly PropertyKey[], raw: unknown): KeysAt {
  let nodes = [schema];
  let value = raw;
  const keysOf = (o: SchemaNode) => Object.keys(o._zod.def.shape ?? {});
  for (const key of path) {
    nodes = nodes.flatMap((n) => {
      const s = unwrap(n);
      const objects = s._zod.def.type === 'union' ? optionsFor(s, value).map(unwrap) : [s];
      return objects.flatMap((o) => {
        const od = o._zod.def;
        if (od.shape) return typeof key === 'string' && od.shape[key] ? [od.shape[key]] : [];
        if (od.type === 'record' && od.valueType) return [od.valueType];
        if (od.type === 'array' && od.element) return [od.element];
        return [];
      });
    });
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  const known = new Set<string>();
  const elsewhere = new Map<string, string[]>();
  let variant: KeysAt['variant'];
  for (const n of nodes) {
    const s = unwrap(n);
    const { type, discriminator, options = [] } = s._zod.def;
    const chosen = type === 'union' ? optionsFor(s, value).map(unwrap) : [s];
    for (const o of chosen) keysOf(o).forEach((k) => known.add(k));
    if (!discriminator || chosen.length !== 1 || !NAMES_OTHER_VARIANTS.has(s)) continue;
    variant = { key: discriminator, value: tagsOf(chosen[0], discriminator)[0] };
    for (const o of options.map(unwrap))
      if (o !== chosen[0])
        for (const k of keysOf(o)) elsewhere.set(k, [...(elsewhere.get(k) ?? []), ...tagsOf(o, discriminator)]);
  }
  for (const k of known) elsewhere.delete(k);
  return { known: [...known], variant, elsewhere };
}

/**
 * The known key a misspelled one most likely meant: the closest by edit distance
 * (case-insensitive, via fastest-levenshtein), when it is close enough to be a typo.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const lower = known.map((k) => k.toLowerCase());
  const best = known[lower.indexOf(closest(key.toLowerCase(), lower))];
  const d = distance(key.toLowerCase(), best.toLowerCase());
  return d <= Math.max(2, Math.floor(Math.max(key.length, best.length) / 3)) ? best : undefined;
}

/**
 * One line per unknown key: `a.b.key: unknown key (did you mean "k"?)`, or for a key of another
 * variant of a discriminated union `teacher.baseURL: unknown key for provider "llama-cpp" (a
 * setting of provider "llama-server" or "openai")`.
 */
function unknownKeyLines(schema: z.ZodType, issue: z.core.$ZodIssueUnrecognizedKeys, raw: unknown): string[] {
  const { known, variant, elsewhere } = knownKeysAt(schema as unknown as SchemaNode, issue.path, raw);
  return issue.keys.map((key) => {
    const where = [...issue.path, key].map(String).join('.');
    const guess = closestKey(key, known);
    // a key (or a near miss of one) that only another variant of the union has
    const other = elsewhere.has(key) ? key : guess ? undefined : closestKey(key, [...elsewhere.keys()]);
    if (variant && other) {
      const values = elsewhere
        .get(other)!
        .map((v) => JSON.stringify(v))
        .join(' or ');
      const meant = other === key ? '' : `did you mean "${other}", `;
      return `  ${where}: unknown key for ${variant.key} "${variant.value}" (${meant}a setting of ${variant.key} ${values})`;
    }
    const hint = guess ? `did you mean "${guess}"?` : `known keys: ${known.length ? known.join(', ') : '(none)'}`;
    return `  ${where}: unknown key (${hint})`;
  });
}

/**
 * Validates raw input against any of the project's strict zod schemas, with the same error
 * format as parseConfig (every invalid field as `path: message`, unknown keys with did-you-mean).
 * @throws Error listing the invalid fields
 */
export function parseStrict<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? unknownKeyLines(schema, i, raw)
        : [`  ${i.path.join('.') || '(root)'}: ${i.message}`],
    );
    throw new Error(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return r.data;
}
