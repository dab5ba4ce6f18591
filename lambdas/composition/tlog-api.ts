import type { HttpDependencies } from '../http/context.js';
import type { TlogProofDependencies } from '../use-cases/tlog-proofs.js';
import type { ServiceConfig } from './config.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';
import { checkpointSigner } from './tlog-signer.js';
import { tlogStore } from './tlog-store.js';

/** The verifiable-log endpoints': the middleware chain's, the log and the checkpoint key's public half. */
export type TlogEndpointDependencies = HttpDependencies & {
  readonly tlog: TlogProofDependencies;
  readonly origin: string;
};
export const tlogEndpointDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): TlogEndpointDependencies => ({
    ...httpDependencies(config),
    tlog: {
      reader: tlogStore(config),
      verifier: async () => (await checkpointSigner(config)).verifier,
    },
    origin: config.TLOG_ORIGIN,
  }),
);
