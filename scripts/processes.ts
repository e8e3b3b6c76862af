/**
 * What the CLI's background-server commands (`s3 store`, `s3 teacher-server`) share: whether a
 * recorded pid is still our server, and writing their state file atomically.
 */
import fs from 'node:fs';

/**
 * True when `pid` is alive, not a zombie, and (where /proc exists) runs a program whose path ends
 * in `executable`, so a recycled pid of another program is never taken for our server.
 */
export function isLiveProcessOf(pid: number, executable: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!fs.existsSync('/proc/self')) return true;
  try {
    if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].endsWith(executable);
  } catch {
    return false;
  }
}

/** Writes `state` as JSON to `file` atomically (temp file + rename), with file `mode` when given. */
export function writeStateFile(file: string, state: unknown, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', mode === undefined ? undefined : { mode });
  fs.renameSync(tmp, file);
}
