/**
 * The ORM-path case of `npm run bench` on its own, in a few minutes, against PostgreSQL
 * (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test; a schema of its own, dropped
 * at the end): `npx tsc -p bench/tsconfig.json && node dist-bench/bench/orm-update.js`
 * (BENCH_ROUNDS rounds, BENCH_PLATFORMS platforms; BENCH_ORM_APPS=A,B,C by default; M
 * adds B with the in-memory store, P B with the PostgreSQL store, L the locked read alone; one
 * app alone is for `node --cpu-prof`).
 */
import 'reflect-metadata';
import {
  DEFAULT_ORM_APPS,
  measureOrmUpdate,
  ORM_APPS,
  ormUpdateSection,
  type OrmApp,
} from './lib/orm-update';
import { printSection, refuse, standaloneSettings } from './lib/standalone';

const settings = standaloneSettings();
const apps = (process.env.BENCH_ORM_APPS ?? DEFAULT_ORM_APPS.join(','))
  .split(',')
  .map((a) => a.trim().toUpperCase())
  .filter((a): a is OrmApp => (ORM_APPS as readonly string[]).includes(a));
if (settings && apps.length === 0) {
  refuse(`BENCH_ORM_APPS: expected some of ${ORM_APPS.join(', ')}.`);
} else if (settings) {
  printSection(measureOrmUpdate(settings.platforms, settings.rounds, { apps }), ormUpdateSection);
}
