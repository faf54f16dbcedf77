/** JetStream durations are nanoseconds. */
export const nanos = (ms: number): number => Math.round(ms * 1_000_000);
