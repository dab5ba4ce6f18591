import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SLOT_COUNT, type SlotReservation } from '../domain/id-slots.js';
import type { IdSlotStore } from '../ports/id-slots.js';
import { ID_SLOTS_PARTITION, idSlotKey } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

/**
 * Slot reservations in the control table. Every hand-over is a conditional write on the slot's
 * current `until`, so two writers can never both extend or take the same slot's range.
 */
export class DynamoDbIdSlotStore implements IdSlotStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #random: () => number;

  constructor(
    doc: DynamoDBDocumentClient,
    options: { readonly controlTable: string; readonly random?: () => number },
  ) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#random = options.random ?? Math.random;
  }

  async acquire(writer: string, now: number, until: number): Promise<SlotReservation | undefined> {
    const held = new Map<number, number>();
    for await (const page of paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
        ExpressionAttributeValues: { ':pk': ID_SLOTS_PARTITION },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        if (typeof item.slot === 'number' && typeof item.until === 'number') held.set(item.slot, item.until);
      }
    }
    // Free slots in random order, so writers starting together rarely race for the same one.
    const free = Array.from({ length: SLOT_COUNT }, (_, slot) => slot)
      .filter((slot) => (held.get(slot) ?? Number.NEGATIVE_INFINITY) < now)
      .map((slot) => ({ slot, order: this.#random() }))
      .sort((a, b) => a.order - b.order)
      .map(({ slot }) => slot);
    for (const slot of free) {
      const previous = held.get(slot);
      // A slot never held starts now: ids written before this scheme (random sequences) are older.
      const from = previous ?? now;
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...idSlotKey(slot),
              slot,
              writer,
              from,
              until,
            },
            ConditionExpression: previous === undefined ? 'attribute_not_exists(#pk)' : '#until = :previous',
            ExpressionAttributeNames:
              previous === undefined ? { '#pk': CONTROL_KEYS.partition } : { '#until': 'until' },
            ...(previous === undefined ? {} : { ExpressionAttributeValues: { ':previous': previous } }),
          }),
        );
        return { slot, from, until };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    return undefined;
  }

  async renew(
    writer: string,
    reservation: SlotReservation,
    until: number,
  ): Promise<SlotReservation | undefined> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: idSlotKey(reservation.slot),
          UpdateExpression: 'SET #until = :until',
          ConditionExpression: '#writer = :writer AND #until = :current AND #from = :from',
          ExpressionAttributeNames: { '#until': 'until', '#writer': 'writer', '#from': 'from' },
          ExpressionAttributeValues: {
            ':until': until,
            ':writer': writer,
            ':current': reservation.until,
            ':from': reservation.from,
          },
        }),
      );
      return { ...reservation, until };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}
