import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ChangeRecord } from '../ports/derivation.js';

/**
 * A DynamoDB stream record as both Lambda's event and the Streams API's GetRecords deliver it (the
 * same JSON shape; only the TypeScript declarations differ).
 */
export interface RawStreamRecord {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly SequenceNumber?: string;
    readonly NewImage?: Record<string, unknown>;
    readonly OldImage?: Record<string, unknown>;
  };
}

const KINDS: Record<string, ChangeRecord['kind']> = { INSERT: 'insert', MODIFY: 'modify', REMOVE: 'remove' };

/** The change a raw stream record describes, its images unmarshalled. */
export const changeRecordOf = (raw: RawStreamRecord): ChangeRecord => {
  const kind = KINDS[raw.eventName ?? ''];
  const sequenceNumber = raw.dynamodb?.SequenceNumber;
  if (!kind || !raw.eventID || !sequenceNumber) {
    throw new TypeError(`not a DynamoDB stream record (event ${raw.eventName ?? 'unnamed'})`);
  }
  const image = (value: Record<string, unknown> | undefined) =>
    // Lambda's and the Streams API's attribute values are the DynamoDB JSON the SDK unmarshalls.
    value ? unmarshall(value as Record<string, AttributeValue>) : undefined;
  const newImage = image(raw.dynamodb?.NewImage);
  const oldImage = image(raw.dynamodb?.OldImage);
  return {
    eventId: raw.eventID,
    sequenceNumber,
    kind,
    ...(newImage ? { newImage } : {}),
    ...(oldImage ? { oldImage } : {}),
  };
};
