import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { AuditChangeRecorder, auditExtension } from '../../../src/prisma';
import type { ShopSettings } from './shop-settings';
import { SHOP_ORDERS, type ShopOrders } from './shop-orders';

/** The generated client (schema.prisma), as far as this server uses it. */
interface ShopPrisma {
  order: { create(args: { data: { item: string; quantity: number } }): Promise<{ id: number }> };
  $extends(extension: unknown): ShopPrisma;
  $disconnect(): Promise<void>;
}

type ShopPrismaClass = new (options: object) => ShopPrisma;

const PRISMA = Symbol('PRISMA');

/** The extended client, built the way the README's `createPrisma` builds it. */
function createPrisma(
  recorder: AuditChangeRecorder,
  settings: ShopSettings,
  clientModule: string,
): ShopPrisma {
  // Generated at test time (the durability global setup), so loaded by path.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PrismaClient } = require(clientModule) as { PrismaClient: ShopPrismaClass };
  const adapter = new PrismaPg(
    { connectionString: settings.url, max: settings.poolSize },
    { schema: settings.schema },
  );
  return new PrismaClient({ adapter }).$extends(auditExtension(recorder, settings.audit));
}

/**
 * Disconnects Prisma on shutdown, as the README recommends: only once the audited captures in
 * flight are done. A handler whose client went away may be between its COMMIT and its events,
 * and those need the pool (and, in atomic mode, the relay); Prisma cannot be wrapped as the
 * other ORMs' close methods are.
 */
@Injectable()
class PrismaShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(PRISMA) private readonly prisma: ShopPrisma,
    private readonly recorder: AuditChangeRecorder,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.recorder.settled();
    await this.prisma.$disconnect();
  }
}

/** Orders written through the extended Prisma client. */
class PrismaShopOrders implements ShopOrders {
  constructor(private readonly prisma: ShopPrisma) {}

  async create(item: string, quantity: number): Promise<{ id: number }> {
    const order = await this.prisma.order.create({ data: { item, quantity } });
    return { id: order.id };
  }
}

/** The shop on Prisma 7 with `@prisma/adapter-pg`, audited by `nestjs-audit/prisma`. */
@Module({})
export class PrismaOrdersModule {
  /** @param clientModule - the compiled generated client (`client.js`) */
  static forRoot(settings: ShopSettings, clientModule: string): DynamicModule {
    return {
      module: PrismaOrdersModule,
      providers: [
        {
          provide: PRISMA,
          inject: [AuditChangeRecorder],
          useFactory: (recorder: AuditChangeRecorder) =>
            createPrisma(recorder, settings, clientModule),
        },
        PrismaShutdown,
        {
          provide: SHOP_ORDERS,
          inject: [PRISMA],
          useFactory: (prisma: ShopPrisma) => new PrismaShopOrders(prisma),
        },
      ],
      exports: [SHOP_ORDERS],
    };
  }
}
