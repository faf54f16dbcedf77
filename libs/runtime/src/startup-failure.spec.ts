import { AssayError } from '@assay/contracts';
import { exitOnStartupFailure, StartupError, startupFailureLine } from './startup-failure';

describe('startupFailureLine', () => {
  it('gives the code and the message fields of their own, and the stack a field of its own', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const line = startupFailureLine('runs', 'runs service failed to start', error);
    expect(line).toMatchObject({ level: 'fatal', service: 'runs', msg: 'runs service failed to start', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' });
    expect(line.stack).toBe(error.stack);
    expect(JSON.stringify(line)).not.toContain('"error"');
  });

  it('prints no stack for a StartupError: its message says what to do', () => {
    const line = startupFailureLine('assay', 'Assay failed to start', new StartupError('PORT_IN_USE', 'port 4000 is in use: stop what holds it or set PORT'));
    expect(line).toMatchObject({ code: 'PORT_IN_USE', message: 'port 4000 is in use: stop what holds it or set PORT' });
    expect(line).not.toHaveProperty('stack');
  });

  it("keeps an AssayError's code and details", () => {
    const line = startupFailureLine('scoring', 'scoring service failed to start', new AssayError('LLM_CONFIG_INVALID', 'OPENAI_API_KEY is empty', { variable: 'OPENAI_API_KEY' }));
    expect(line).toMatchObject({ code: 'LLM_CONFIG_INVALID', message: 'OPENAI_API_KEY is empty', details: { variable: 'OPENAI_API_KEY' } });
  });

  it('reads an AggregateError (no message of its own) from the errors inside it', () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const line = startupFailureLine('gateway', 'gateway failed to start', new AggregateError([refused('::1:5432'), refused('127.0.0.1:5432')]));
    expect(line).toMatchObject({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432' });
  });

  it('gives what is not an Error (the old line said "undefined" and nothing else) a code and a message', () => {
    expect(startupFailureLine('assay', 'Assay failed to start', undefined)).toMatchObject({ code: 'STARTUP_FAILED', message: 'undefined' });
  });
});

describe('exitOnStartupFailure', () => {
  it('writes one JSON line to stderr, runs the clean-up, then exits 1', async () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true));
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const cleanup = jest.fn(async () => undefined);
    let exitCodes: unknown[][] = [];
    try {
      await exitOnStartupFailure('assay', 'Assay failed to start', cleanup)(new StartupError('DATA_DIR_IN_USE', 'data folder /x is in use by pid 42'));
      exitCodes = exit.mock.calls;
    } finally {
      write.mockRestore();
      exit.mockRestore();
    }
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0])).toMatchObject({ level: 'fatal', service: 'assay', code: 'DATA_DIR_IN_USE', message: 'data folder /x is in use by pid 42' });
    expect(cleanup).toHaveBeenCalled();
    expect(exitCodes).toEqual([[1]]);
  });
});
