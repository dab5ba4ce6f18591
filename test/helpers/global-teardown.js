import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  await globalThis.__emulators__?.stop();
  rmSync(`.local/test-s3-${process.pid}`, { recursive: true, force: true });
}
