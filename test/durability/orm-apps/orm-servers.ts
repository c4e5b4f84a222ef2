import { ORM_APPS_MAIN, PRISMA_CLIENT_MAIN } from '../sample-build';

/** One ORM of the orders server (`orm-apps/main.ts`): its name and what starts it on that ORM. */
export interface OrmServer {
  name: string;
  main: string;
  env: Record<string, string>;
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
