import Ajv, { ValidateFunction } from 'ajv';
import { AssayError } from '../errors/assay-error';
import { currentSchemaVersion, DomainEvent, eventSchemas, EventType } from './event-types';

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>(
  Object.entries(eventSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
);

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(eventSchemas, type);
}

/**
 * Checks a stored or incoming payload against its schema and returns it as a typed domain event.
 * Older schema versions are upcast here once they exist; today every type is at version 1.
 */
export function parseEvent(type: string, schemaVersion: number, data: unknown): DomainEvent {
  if (!isEventType(type)) {
    throw new AssayError('EVENT_TYPE_UNKNOWN', `Unknown event type "${type}". Upgrade this service to a version that knows it.`);
  }
  if (schemaVersion !== currentSchemaVersion[type]) {
    throw new AssayError(
      'EVENT_VERSION_UNSUPPORTED',
      `${type} v${schemaVersion} is not supported (current v${currentSchemaVersion[type]}). Upgrade this service.`,
    );
  }
  assertValidEventData(type, data);
  return { type, data } as DomainEvent;
}

export function assertValidEventData(type: EventType, data: unknown): void {
  const validate = validators.get(type)!;
  if (!validate(data)) {
    const details = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new AssayError('EVENT_PAYLOAD_INVALID', `${type} payload is invalid: ${details}`);
  }
}
