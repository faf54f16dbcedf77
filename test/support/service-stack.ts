import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createTestDatabase, TestDatabase, testNatsUrl, uniqueBusPrefix } from '@assay/testing';
import { E2E_ADMIN_KEY } from './graphql-client';

const ROOT = join(__dirname, '..', '..');

export type ServiceName = 'gateway' | 'runs' | 'scoring';

export interface ServiceProcess {
  readonly name: ServiceName;
  /** The name, with the roles of a runs process started with ASSAY_RUNS_ROLES: "runs (relay)". */
  readonly label: string;
  readonly child: ChildProcess;
  /** Everything the process wrote, for diagnosing a failed test. */
  readonly output: string[];
}

export interface ServiceStack {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly baseUrl: string;
  readonly database: TestDatabase;
  /** The admin key every process was started with (ASSAY_INIT_API_KEY); the graphql-client helpers send it. */
  readonly adminKey: string;
  readonly processes: ServiceProcess[];
  start(name: ServiceName, extraEnv?: Record<string, string>): ServiceProcess;
  stop(): Promise<void>;
  /** The output of every process, for failure messages. */
  logs(): string;
}

/**
 * Assay in service mode, as in production: gateway, runs and scoring as separate Node processes
 * (`npm run start:*` entry points) on a fresh database and their own JetStream stream on the
 * test NATS server, so stacks never see each other's events.
 */
export async function startServiceStack(
  options: {
    scoringProcesses?: number;
    /** Run the relay in a runs process of its own (ASSAY_RUNS_ROLES), beside one for projections and the reconciler. */
    separateRelay?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<ServiceStack> {
  const database = await createTestDatabase('assay_e2e');
  const prefix = uniqueBusPrefix('e2e');
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: database.url,
    NATS_URL: testNatsUrl(),
    ASSAY_NATS_STREAM: `ASSAY_${prefix.toUpperCase()}`,
    ASSAY_NATS_SUBJECT_PREFIX: prefix,
    PORT: String(port),
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    ASSAY_LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    ASSAY_INIT_API_KEY: E2E_ADMIN_KEY,
    ...options.env,
  };
  const processes: ServiceProcess[] = [];
  const start = (name: ServiceName, extraEnv: Record<string, string> = {}) => {
    // STACK_NODE_ARGS: extra node flags for the services, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.STACK_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '-r', '@swc-node/register', `services/${name}/src/main.ts`], {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const roles = extraEnv.ASSAY_RUNS_ROLES;
    const proc: ServiceProcess = { name, label: roles ? `${name} (${roles})` : name, child, output: [] };
    child.stdout!.on('data', (chunk) => proc.output.push(chunk.toString()));
    child.stderr!.on('data', (chunk) => proc.output.push(chunk.toString()));
    processes.push(proc);
    return proc;
  };

  // runs first: it migrates the database and creates the stream before the others need them.
  if (options.separateRelay) {
    start('runs', { ASSAY_RUNS_ROLES: 'projections,reconcile' });
    start('runs', { ASSAY_RUNS_ROLES: 'relay' });
  } else {
    start('runs');
  }
  for (let i = 0; i < (options.scoringProcesses ?? 1); i++) start('scoring');
  start('gateway');

  const stack: ServiceStack = {
    httpUrl: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    adminKey: env.ASSAY_INIT_API_KEY,
    processes,
    start,
    logs: () => processes.map((p) => `--- ${p.name} (pid ${p.child.pid}, exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'})\n${p.output.join('')}`).join('\n'),
    async stop() {
      await Promise.all(processes.map((p) => stopProcess(p.child)));
      await deleteStream(env.ASSAY_NATS_STREAM);
      await database.drop();
    },
  };
  try {
    await waitFor(async () => (await fetch(`${stack.baseUrl}/readyz`)).ok, 60_000, () => stack.logs());
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/**
 * Starts one more scoring process with its own environment (e.g. an OPENAI_API_KEY the OpenAI stub
 * can tell apart) and waits until it has started: its scoring and execution workers consuming.
 * It logs at info level, where it says so.
 */
export async function startScoringProcess(stack: ServiceStack, extraEnv: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServiceProcess> {
  const proc = stack.start('scoring', { LOG_LEVEL: 'info', ASSAY_LOG_LEVEL: 'info', ...extraEnv });
  await waitFor(async () => proc.output.join('').includes('scoring service started'), timeoutMs, () => stack.logs());
  return proc;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function deleteStream(name: string): Promise<void> {
  const nc = await connect({ servers: testNatsUrl() });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
