import { openStore } from '../../src/index.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';
import { storeConformance } from './store-conformance.js';

// Two store instances (two pools) on one database: every race in the suite is also run across them.
storeConformance('postgres', async () => {
  if (!(await postgresAvailable())) return undefined;
  const { schema, drop } = await throwawaySchema();
  return {
    open: () => openStore({ url: POSTGRES_URL, schema }),
    sharedAcrossInstances: true,
    cleanup: drop,
  };
});
