import fs from 'node:fs';

/**
 * Who a process is, beyond its pid. A pid is reused (and in a container every run is PID 1), so a
 * lock or a temp file names its owner by pid + start time (clock ticks since boot, field 22 of
 * `/proc/<pid>/stat`) + boot id: a process with the same pid but another start time, or any
 * process after a reboot, is someone else.
 */
export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot; undefined where there is no /proc (macOS). */
  start?: number;
  /** The kernel's boot id; undefined where there is no /proc. */
  boot?: string;
}

/** An owner as read back from a lock or a temp name. `legacy`: named by an older sluice, by pid only. */
export interface RecordedOwner extends ProcessIdentity {
  legacy?: boolean;
}

interface ProcStat {
  start: number;
  /** Z (zombie) or X (dead): gone in all but name, it holds nothing and does nothing. */
  gone: boolean;
}

/** Field 3 (state) and field 22 (start time); the command name (field 2) may hold spaces and parentheses. */
function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  if (!Number.isSafeInteger(start)) return undefined;
  return { start, gone: fields[0] === 'Z' || fields[0] === 'X' };
}

function bootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

let self: ProcessIdentity | undefined;

/** This process (read once: it does not change while we run). */
export function selfIdentity(): ProcessIdentity {
  if (!self) {
    const start = procStat(process.pid)?.start;
    const boot = bootId();
    self = { pid: process.pid, ...(start === undefined ? {} : { start }), ...(boot === undefined ? {} : { boot }) };
  }
  return self;
}

const validPid = (pid: number): boolean => Number.isSafeInteger(pid) && pid > 0;

/**
 * True while the process that `owner` names still runs. Another boot, a gone pid, a zombie or a pid
 * now held by a process with another start time all mean it is gone. Without /proc (macOS) only
 * `kill(pid, 0)` can be asked, which cannot see a reused pid: such an owner counts as alive, so
 * nothing of a live run is ever taken for litter.
 */
export function isOwnerAlive(owner: RecordedOwner): boolean {
  if (!validPid(owner.pid)) return false;
  const me = selfIdentity();
  if (owner.boot !== undefined && me.boot !== undefined && owner.boot !== me.boot) return false;
  if (owner.pid === me.pid) {
    if (owner.start !== undefined && me.start !== undefined) return owner.start === me.start;
    // This process never names anything the old way, so a legacy name with its pid is a predecessor's.
    return !owner.legacy;
  }
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, under another user.
  }
  const seen = procStat(owner.pid);
  if (!seen) return true; // it exists but /proc does not show it (no /proc, or hidepid)
  if (seen.gone) return false;
  return owner.start === undefined || seen.start === owner.start;
}

/**
 * The owner part of a temp name: pid and start time in base 36, `.`-separated (`1.2x4kq`); the start
 * is `_` where it is unknown. Compact because it sits in every temp file name.
 */
export function ownerTag(id: ProcessIdentity = selfIdentity()): string {
  return `${id.pid.toString(36)}.${id.start === undefined ? '_' : id.start.toString(36)}`;
}

/** The owner named by `ownerTag`, or undefined when `tag` is not one. */
export function parseOwnerTag(tag: string): RecordedOwner | undefined {
  const m = /^([0-9a-z]+)\.([0-9a-z]+|_)$/.exec(tag);
  if (!m) return undefined;
  const pid = Number.parseInt(m[1] as string, 36);
  const start = m[2] === '_' ? undefined : Number.parseInt(m[2] as string, 36);
  return start === undefined ? { pid } : { pid, start };
}
