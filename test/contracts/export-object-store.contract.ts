import { randomBytes } from 'node:crypto';
import { describe, expect, it, jest } from '@jest/globals';
import type { ExportObjectStore } from '../../lambdas/ports/export-store.js';

const keyOf = () => `exports/contract/${randomBytes(6).toString('hex')}/canary_audit_trail.json.zip`;

/**
 * The behaviour every ExportObjectStore must have (see the port): an upload ended is stored, one
 * destroyed is not (and its `done` rejects), and a stored object can be handed out as a URL.
 */
export const describeExportObjectStoreContract = (name: string, make: () => ExportObjectStore): void => {
  describe(`ExportObjectStore contract: ${name}`, () => {
    it('stores what an upload was sent once its stream ends', async () => {
      // Prepare
      const objects = make();
      const key = keyOf();

      // Act
      const upload = objects.startUpload(key);
      upload.stream.write(Buffer.from('PK\u0003\u0004 first part, '));
      upload.stream.end(Buffer.from('second part'));
      await upload.done;

      // Assess
      expect(await objects.exists(key)).toBe(true);
      expect(await objects.exists(keyOf())).toBe(false);
    });

    it('stores nothing when the upload stream is destroyed, and its done rejects', async () => {
      // Prepare
      const objects = make();
      const key = keyOf();

      // (An adapter may log the cancelled upload as a warning; it is expected here, so kept out of the output.)
      const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);

      try {
        // Act
        const upload = objects.startUpload(key);
        upload.stream.write(Buffer.from('partial'));
        upload.stream.destroy(new Error('the export failed'));

        // Assess
        await expect(upload.done).rejects.toBeDefined();
        expect(await objects.exists(key)).toBe(false);
      } finally {
        stdout.mockRestore();
      }
    });

    it('hands a stored object out as an absolute URL', async () => {
      // Prepare
      const objects = make();
      const key = keyOf();
      const upload = objects.startUpload(key);
      upload.stream.end(Buffer.from('zip'));
      await upload.done;

      // Act
      const url = new URL(await objects.presignDownload(key, 300));

      // Assess
      expect(['http:', 'https:']).toContain(url.protocol);
      expect(decodeURIComponent(url.pathname)).toContain(key);
    });
  });
};
