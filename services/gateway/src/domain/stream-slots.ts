/**
 * The open event streams' budget: at most `perUser` per signed-in user and `total` in all, so
 * one user cannot hold the gateway's sockets and memory with thousands of idle streams, and all
 * users together cannot either. `acquire` answers a release function, or undefined when full.
 */
export class StreamSlots {
  private readonly byUser = new Map<string, number>();
  private open = 0;

  constructor(private readonly limits: { perUser: number; total: number }) {}

  get size(): number {
    return this.open;
  }

  acquire(userId: string): (() => void) | undefined {
    const mine = this.byUser.get(userId) ?? 0;
    if (mine >= this.limits.perUser || this.open >= this.limits.total) return undefined;
    this.byUser.set(userId, mine + 1);
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.byUser.get(userId) ?? 1) - 1;
      if (left > 0) this.byUser.set(userId, left);
      else this.byUser.delete(userId);
    };
  }
}
