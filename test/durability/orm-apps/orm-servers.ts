import { ORM_APPS_MAIN, PRISMA_CLIENT_MAIN, SAMPLE_MAIN } from '../sample-build';

/** One ORM of the orders server (`orm-apps/main.ts`): its name and what starts it on that ORM. */
export interface OrmServer {
  name: string;
  main: string;
  env: Record<string, string>;
  /** Whether the server creates the orders table itself (TypeORM synchronises it). */
  createsTable?: boolean;
}

/** The ORMs the orders server runs on besides the sample's TypeORM. */
export const ORM_SERVERS: readonly OrmServer[] = [
  {
    name: 'Prisma',
    main: ORM_APPS_MAIN,
    env: { ORM: 'prisma', PRISMA_CLIENT: PRISMA_CLIENT_MAIN },
  },
  { name: 'MikroORM', main: ORM_APPS_MAIN, env: { ORM: 'mikro-orm' } },
];

/** The sample's TypeORM orders, then the other ORMs of the orders server. */
export const ALL_ORM_SERVERS: readonly OrmServer[] = [
  { name: 'TypeORM', main: SAMPLE_MAIN, env: {}, createsTable: true },
  ...ORM_SERVERS,
];
