/**
 * Path confinement and user data file resolution.
 *
 * - Run paths: `confinedRunDir(runRoot, runId)` is the only way to turn a run id into a
 *   directory; it never returns a path outside runRoot (no "..", no absolute id).
 * - User data files (gold validation/test/contexts): `resolveDataFile` / `openDataFile`
 *   resolve the real path and accept only a regular file whose real name has a data
 *   extension (DATA_EXTENSIONS). A symlink is followed only when its final target is such
 *   a file, so a link named val.jsonl pointing at /etc/passwd or a key file is refused
 *   before a single byte of it is read, and nothing of it can reach an error message.
 *
 * Node-only (file I/O): use from activities and scripts, never from workflows.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { DatasetError } from './jsonl.js';

/**
 * Extensions (lower-cased) a data file's real path may have: the formats the gold loaders
 * read (.jsonl/.json = JSON Lines, .csv, .tsv). Deliberately no .txt / .conf / extensionless:
 * a symlink to anything else is refused.
 */
export const DATA_EXTENSIONS: readonly string[] = ['.jsonl', '.json', '.csv', '.tsv'];

/**
 * `rel` resolved against `root`, when it lies strictly under it (not `root` itself).
 * Purely lexical (after path.resolve): use for paths the program itself builds from
 * names (run ids, artifact names), so that "..", absolute names or an empty name cannot
 * escape `root`.
 * @param root directory (absolute, or relative to the cwd)
 * @param rel path relative to root
 * @returns absolute path
 * @throws DatasetError naming `rel`, the resolved path and the resolved root when the path
 *   would be root itself or outside it
 */
export function confinedPath(root: string, rel: string): string {
  const absRoot = resolve(root);
  const target = resolve(absRoot, rel);
  const r = relative(absRoot, target);
  if (rel === '' || r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r))
    throw new DatasetError(rel, undefined, `resolves to ${target}, which is not strictly under ${absRoot}`);
  return target;
}

/**
 * Absolute run directory `<runRoot>/<runId>`: a direct child of the resolved runRoot.
 * The config schema already refuses such ids; this is the check at the point of use.
 * @param runRoot config runRoot (absolute, or relative to the worker's cwd)
 * @param runId config runId
 * @returns absolute path of the run directory
 * @throws DatasetError (non-retryable input error) when runId is empty, ".", "..", contains a
 *   path separator or is absolute, i.e. when the directory would not lie strictly under runRoot
 */
export function confinedRunDir(runRoot: string, runId: string): string {
  if (runId === '' || runId === '.' || runId === '..' || /[/\\]/.test(runId) || isAbsolute(runId))
    throw new DatasetError(
      resolve(runRoot, runId),
      undefined,
      `runId ${JSON.stringify(runId)} would not lie strictly under runRoot ${resolve(runRoot)}`,
    );
  return confinedPath(runRoot, runId);
}

/** A user data file after resolution. */
export interface ResolvedDataFile {
  /** the path as given (config) */
  given: string;
  /** absolute real path (all symlinks resolved) */
  resolved: string;
  /** true when `resolved` differs from the lexically resolved given path (a symlink somewhere) */
  viaSymlink: boolean;
}

function kindOf(s: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Resolves a user data file without reading it: the real path must exist, be a regular file
 * and have a data extension (DATA_EXTENSIONS). A symlink (at the file or in a directory on
 * its path) is allowed only when its final target satisfies this.
 * @param p path as given in the config (absolute, or relative to the cwd)
 * @returns given path, real path and whether a symlink was followed
 * @throws DatasetError naming the given and the resolved path: "file not found", a dangling
 *   symlink, a directory / FIFO / device, an unsupported extension, or a symlink whose target
 *   is not a data file
 */
export async function resolveDataFile(p: string): Promise<ResolvedDataFile> {
  const lexical = resolve(p);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    let why = code === 'ENOENT' ? 'file not found' : `cannot resolve (${code ?? (err as Error).message})`;
    if (code === 'ENOENT' && (await lstat(lexical).catch(() => null))?.isSymbolicLink())
      why = 'is a symbolic link whose target does not exist';
    throw new DatasetError(p, undefined, `${why} (resolved: ${lexical})`, { cause: err });
  }
  const viaSymlink = real !== lexical;
  const st = await stat(real).catch((err: NodeJS.ErrnoException) => {
    throw new DatasetError(p, undefined, `cannot read (${err.code ?? err.message}) (resolved: ${real})`, {
      cause: err,
    });
  });
  if (!st.isFile()) throw new DatasetError(p, undefined, `is ${kindOf(st)}, expected a data file (resolved: ${real})`);
  const ext = extname(real).toLowerCase();
  if (!DATA_EXTENSIONS.includes(ext)) {
    const allowed = DATA_EXTENSIONS.join(', ');
    throw new DatasetError(
      p,
      undefined,
      viaSymlink
        ? `is a symbolic link to ${real}, which is not a data file (the target must be a regular file named ${allowed})`
        : `unsupported extension "${ext}" (use .jsonl, .json, .csv or .tsv) (resolved: ${real})`,
    );
  }
  return { given: p, resolved: real, viaSymlink };
}

/**
 * Resolves (resolveDataFile) and opens a user data file for reading. The real path is
 * opened with O_NOFOLLOW | O_NONBLOCK and checked again on the open handle, so a file
 * swapped for a symlink, FIFO or device after the check is refused, not read.
 * @returns the open handle (the caller closes it) and the resolution
 * @throws DatasetError as resolveDataFile, or when the file cannot be opened
 */
export async function openDataFile(p: string): Promise<{ fh: FileHandle; file: ResolvedDataFile }> {
  const file = await resolveDataFile(p);
  let fh: FileHandle;
  try {
    fh = await open(file.resolved, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new DatasetError(
      p,
      undefined,
      `cannot open (${(err as NodeJS.ErrnoException).code ?? 'error'}) (resolved: ${file.resolved})`,
      {
        cause: err,
      },
    );
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new DatasetError(p, undefined, `is ${kindOf(st)}, expected a data file (resolved: ${file.resolved})`);
  }
  return { fh, file };
}
