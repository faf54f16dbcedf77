import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time per process over a window of the benchmark, from /proc (Linux): where the time goes.
 * Every process is read at the start and at the end of the window; one that started in between
 * counts from zero. Labels: the Assay services by name (given), PostgreSQL (every `postgres`
 * process: backends, WAL writer, checkpointer…), NATS (`nats-server`) and the benchmark itself.
 */
export interface CpuAccount {
  /** Seconds of the window, and per label the cores used on average (CPU seconds ÷ window). */
  stop(): { windowSeconds: number; cores: Record<string, number> } | undefined;
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux Node runs on

export function startCpuAccount(labelOf: (pid: number) => string | undefined): CpuAccount {
  if (!hasProc()) return { stop: () => undefined };
  const startedAt = performance.now();
  const before = sample(labelOf);
  return {
    stop() {
      const windowSeconds = (performance.now() - startedAt) / 1000;
      const after = sample(labelOf);
      const ticks = new Map<string, number>();
      for (const [pid, { label, ticks: end }] of after) {
        ticks.set(label, (ticks.get(label) ?? 0) + end - (before.get(pid)?.ticks ?? 0));
      }
      const cores = Object.fromEntries(
        [...ticks].sort((a, b) => b[1] - a[1]).map(([label, n]) => [label, Math.round((n / TICKS_PER_SECOND / windowSeconds) * 100) / 100]),
      );
      return { windowSeconds: Math.round(windowSeconds * 100) / 100, cores };
    },
  };
}

function hasProc(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/** utime + stime of every labelled process, by pid. */
function sample(labelOf: (pid: number) => string | undefined): Map<number, { label: string; ticks: number }> {
  const out = new Map<number, { label: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const label = labelOf(pid) ?? (name === 'postgres' ? 'PostgreSQL' : name === 'nats-server' ? 'NATS' : undefined);
      if (label) out.set(pid, { label, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}
