/** Reads the environment a service process needs, failing early with what to set. */
export interface ServiceEnv {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** JetStream stream and subject prefix: lets several Assay installations (or test stacks) share one NATS. */
  readonly nats: { readonly streamName: string; readonly subjectPrefix: string };
}

export function serviceEnv(service: string): ServiceEnv {
  const missing = ['DATABASE_URL', 'NATS_URL'].filter((name) => !process.env[name]);
  if (missing.length) {
    console.error(
      JSON.stringify({
        level: 'fatal',
        service,
        code: 'CONFIG_MISSING',
        msg: `${missing.join(' and ')} must be set to run ${service} as its own process (e.g. DATABASE_URL=postgres://user@host:5432/assay NATS_URL=nats://host:4222). To run everything in one process, use npm start.`,
      }),
    );
    process.exit(2);
  }
  return {
    databaseUrl: process.env.DATABASE_URL!,
    natsUrl: process.env.NATS_URL!,
    nats: {
      streamName: process.env.ASSAY_NATS_STREAM || 'ASSAY_EVENTS',
      subjectPrefix: process.env.ASSAY_NATS_SUBJECT_PREFIX || 'assay',
    },
  };
}

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}
