/** Where responses too large for an API Gateway answer are parked for the caller to fetch. */
export interface LargeResponseStore {
  /**
   * Stores `body` for `tenant` and returns a presigned GET URL for it, valid for at most
   * `expiresInSeconds` (≤ 300).
   */
  stash(
    tenant: string,
    body: string,
    options: { contentType: string; expiresInSeconds: number },
  ): Promise<string>;
}
