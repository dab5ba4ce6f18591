/** Measures how DynamoDB Local's stream calls slow as stream records pile up, and whether DeleteTable frees them (it does not). `npx tsx scripts/probe-emulator-streams.ts`. */
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { startEmulators } from '../local/emulators.js';

const e = await startEmulators({ scratchDir: '.local/probe-s3' });
const cfg = {
  endpoint: e.dynamoDbEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
};
const db = new DynamoDBClient(cfg);
const st = new DynamoDBStreamsClient(cfg);
const mk = async (name: string) => {
  const out = await db.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  return out.TableDescription?.LatestStreamArn as string;
};
const fill = async (name: string, n: number) => {
  const pad = 'x'.repeat(400);
  for (let i = 0; i < n; i += 25) {
    const items = Array.from({ length: Math.min(25, n - i) }, (_, j) => ({
      PutRequest: { Item: { pk: { S: 't' }, sk: { S: String(i + j).padStart(8, '0') }, d: { S: pad } } },
    }));
    await db.send(new BatchWriteItemCommand({ RequestItems: { [name]: items } }));
  }
};
const time = async (label: string, f: () => Promise<unknown>, n = 20) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  console.log(label, ((performance.now() - t) / n).toFixed(2), 'ms');
};
const probeArn = await mk('probe');
await fill('probe', 100);
const measure = async (tag: string) => {
  const d = await st.send(new DescribeStreamCommand({ StreamArn: probeArn }));
  const shard = d.StreamDescription?.Shards?.[0]?.ShardId as string;
  await time(`${tag} DescribeStream`, () => st.send(new DescribeStreamCommand({ StreamArn: probeArn })));
  let it = (
    await st.send(
      new GetShardIteratorCommand({ StreamArn: probeArn, ShardId: shard, ShardIteratorType: 'LATEST' }),
    )
  ).ShardIterator as string;
  await time(`${tag} GetRecords(empty, LATEST)`, async () => {
    const o = await st.send(new GetRecordsCommand({ ShardIterator: it, Limit: 100 }));
    it = o.NextShardIterator as string;
  });
  await time(`${tag} GetShardIterator TRIM`, () =>
    st.send(
      new GetShardIteratorCommand({ StreamArn: probeArn, ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' }),
    ),
  );
  await time(`${tag} GetItem`, () =>
    db.send(new GetItemCommand({ TableName: 'probe', Key: { pk: { S: 't' }, sk: { S: '00000001' } } })),
  );
  const t = performance.now();
  await fill('probe', 500);
  console.log(tag, 'write 500', (performance.now() - t).toFixed(0), 'ms');
};
await measure('0 other');
for (let k = 1; k <= 10; k++) {
  await mk(`other${k}`);
  await fill(`other${k}`, 3000);
}
await measure('10 other tables x3000');
const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb');
for (let k = 1; k <= 10; k++) await db.send(new DeleteTableCommand({ TableName: `other${k}` }));
await measure('after deleting them');
await e.stop();
process.exit(0);
