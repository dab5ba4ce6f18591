import { describe, expect, it } from '@jest/globals';
import { itemToRecord, recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import { sealRecord } from '../../lambdas/domain/record.js';

describe('events-table items', () => {
  const record = sealRecord('acme', 42, 1_700_000_000_000, {
    action_type: 'api_request',
    request: { uri: '/x', method: 'GET', status: 200, query_parameters: { '': 'e', constructor: 'c' } },
    additional_information: { nested: [1, 'two'] },
  });

  it('round-trips a record, query parameters and additional information as JSON text', () => {
    // Act
    const item = recordToItem(record);

    // Assess
    expect(item.request).toEqual({
      uri: '/x',
      method: 'GET',
      status: 200,
      query_parameters_json: '{"":"e","constructor":"c"}',
    });
    expect(itemToRecord(item)).toEqual(record);
  });

  it('reads items written before, whose query parameters are a map', () => {
    // Prepare
    const legacy = {
      ...recordToItem(record),
      request: { uri: '/x', method: 'GET', status: 200, query_parameters: { limit: '5' } },
    };

    // Act
    const read = itemToRecord(legacy);

    // Assess
    expect(read.request).toEqual({ uri: '/x', method: 'GET', status: 200, query_parameters: { limit: '5' } });
  });
});
