// Validates JSON values against schemas of openapi/openapi.json with hyperjump's OpenAPI 3.1
// dialect, in a plain Node process (jest's module sandbox gives values another realm's
// Object.prototype, which hyperjump refuses). Reads [{ pointer, instance }] as JSON on stdin and
// writes [{ pointer, valid, errors }] on stdout. Used by test/integration/openapi-conformance.test.ts.
import { validate } from '@hyperjump/json-schema/openapi-3-1';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const checks = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const document = new URL('../../openapi/openapi.json', import.meta.url).href;
const results = [];
for (const { pointer, instance } of checks) {
  // A JSON pointer in a URI fragment: each token percent-encoded (`{job}`, `[size]`, …).
  const fragment = pointer.split('/').map(encodeURIComponent).join('/');
  const output = await validate(`${document}#${fragment}`, instance, 'BASIC');
  results.push({ pointer, valid: output.valid, errors: output.valid ? [] : output.errors });
}
process.stdout.write(JSON.stringify(results));
