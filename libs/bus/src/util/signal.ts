/**
 * A wake-up for loops: `wait()` resolves at the next `notify()`, or at once if a notify came while
 * nobody was waiting (so a change during the loop's own awaits is never slept through). Loops
 * re-check their state after every wake-up; spurious ones are harmless.
 */
export class Signal {
  private waiters: Array<() => void> = [];
  private pending = false;

  wait(timeoutMs?: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        }, timeoutMs);
      }
    });
  }

  notify(): void {
    if (this.waiters.length === 0) {
      this.pending = true;
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
