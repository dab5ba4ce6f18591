import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * The one entry to zod for Lambda code (`import * as z from '…/domain/zod.js'`): `zod/mini`, the
 * functional build that tree-shakes to ~17 KB where the chaining API costs ~85 KB in every bundle.
 * It ships without messages, so the English ones are installed here, before any schema is used.
 * (A namespace re-export, not `export { z }`: a namespace object passed around as a value cannot
 * be tree-shaken, and would pull every locale and all of zod into each bundle.)
 */
config(en());

export * from 'zod/mini';
