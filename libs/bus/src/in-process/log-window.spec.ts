import { LOG_START } from '@assay/event-store';
import { storedEvents } from '../test-support/events';
import { LogWindow } from './log-window';

/** The in-process consumer's window of the log: what a republish (the reconciler's) adds to it. */
describe('LogWindow.republish', () => {
  const settle = (window: LogWindow) => {
    for (const entry of window.due(0, 100)) entry.state = 'done';
    window.advance();
  };

  it('delivers again what was read and settled, once however often it is published, and never holds the checkpoint back', () => {
    const [first, second] = storedEvents('RecordAdded', 2);
    const window = new LogWindow(LOG_START);
    window.add([first, second], { transactionId: second.transactionId, globalPosition: second.globalPosition });
    settle(window);

    expect(window.republish([first])).toBe(1);
    expect(window.republish([first])).toBe(0); // still waiting here
    expect(window.due(0, 10).map((entry) => entry.event?.eventId)).toEqual([first.eventId]);
    expect(window.advance()).toEqual({ transactionId: second.transactionId, globalPosition: second.globalPosition });
    expect(window.unsettled).toBe(0);
  });

  it('leaves out what the log has not brought yet: reading it delivers it, once', () => {
    const [read, unread] = storedEvents('RecordAdded', 2);
    const window = new LogWindow(LOG_START);
    window.add([read], { transactionId: read.transactionId, globalPosition: read.globalPosition });
    settle(window);

    expect(window.republish([read, unread])).toBe(1);
    expect(window.due(0, 10).map((entry) => entry.event?.eventId)).toEqual([read.eventId]);
  });

  it('leaves out what waits to be settled in the log order', () => {
    const [waiting] = storedEvents('RecordAdded', 1);
    const window = new LogWindow(LOG_START);
    window.add([waiting], { transactionId: waiting.transactionId, globalPosition: waiting.globalPosition });
    expect(window.republish([waiting])).toBe(0);
  });
});
