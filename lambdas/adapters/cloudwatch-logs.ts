import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';

/**
 * The log lines a CloudWatch Logs subscription delivery carries (its payload is base64 of gzipped
 * JSON). A control message (CloudWatch checking that the destination is reachable) carries none.
 */
export const subscriptionLines = (event: CloudWatchLogsEvent): string[] => {
  const data = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as
    | Partial<CloudWatchLogsDecodedData>
    | undefined;
  if (data?.messageType !== 'DATA_MESSAGE' || !Array.isArray(data.logEvents)) return [];
  return data.logEvents.flatMap((logEvent) =>
    typeof logEvent?.message === 'string' ? [logEvent.message] : [],
  );
};
