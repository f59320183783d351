// Applies the committed migrations to DATABASE_URL (production deploys run this before the API).
import { loadConfig } from '../config/config.js';
import { createDb } from '../db/create-db.js';

const config = loadConfig();
if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required to migrate');
const handle = await createDb({ url: config.DATABASE_URL, maxConnections: 1 });
await handle.migrate();
await handle.close();
console.log('migrations applied');
