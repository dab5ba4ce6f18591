import type { AuditRecord } from '../domain/record.js';
import { actorOf } from '../domain/record.js';
import { EVENTS_KEYS } from './table-definitions.js';

/**
 * Maps records to events-table items and back. `additional_information` is free-form JSON, so it
 * is stored as its JSON text: DynamoDB maps would not round-trip every JSON value exactly (empty
 * strings in sets, number precision), and the stored hash must stay verifiable.
 */
export const recordToItem = (record: AuditRecord): Record<string, unknown> => {
  const { additional_information, ...rest } = record;
  const actor = actorOf(record);
  return {
    ...rest,
    [EVENTS_KEYS.actionKey]: `${record.tenant}#${record.action_type}`,
    ...(actor !== undefined ? { [EVENTS_KEYS.actorKey]: `${record.tenant}#${actor}` } : {}),
    ...(additional_information !== undefined
      ? { additional_information_json: JSON.stringify(additional_information) }
      : {}),
  };
};

export const itemToRecord = (item: Record<string, unknown>): AuditRecord => {
  const {
    [EVENTS_KEYS.actionKey]: _action,
    [EVENTS_KEYS.actorKey]: _actor,
    additional_information_json,
    ...rest
  } = item;
  return {
    ...(rest as unknown as AuditRecord),
    ...(typeof additional_information_json === 'string'
      ? { additional_information: JSON.parse(additional_information_json) as unknown }
      : {}),
  };
};
