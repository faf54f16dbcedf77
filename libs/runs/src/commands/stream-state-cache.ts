/**
 * Remembers the state of recently used streams with the version it reflects, so a command on a
 * run with 20,000 records reads only the events appended since, not the whole stream. Always safe:
 * appends carry the version, and a conflict drops the entry.
 */
export class StreamStateCache<S> {
  private readonly entries = new Map<string, { state: S; version: number }>();

  constructor(private readonly capacity = 1000) {}

  get(streamId: string): { state: S; version: number } | undefined {
    const entry = this.entries.get(streamId);
    if (entry) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.entries.delete(streamId);
      this.entries.set(streamId, entry);
    }
    return entry;
  }

  set(streamId: string, entry: { state: S; version: number }): void {
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }
}
