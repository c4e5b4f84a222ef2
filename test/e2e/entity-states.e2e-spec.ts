import { Body, Controller, Param, Patch } from '@nestjs/common';
import { instanceToPlain } from 'class-transformer';
import { join } from 'node:path';
import request from 'supertest';
import { Audited, AuditModule, SqliteAuditStore } from '../../src';
import { PLATFORMS, startApp, tempDir } from '../utils/apps';

/** Entities as an ORM loads them: a toJSON through class-transformer and a back-reference. */
class Order {
  id!: number;
  status!: string;
  items: OrderItem[] = [];
  toJSON(): unknown {
    return instanceToPlain(this);
  }
}

class OrderItem {
  id!: number;
  quantity!: number;
  order!: Order;
  toJSON(): unknown {
    return instanceToPlain(this);
  }
}

/** The "database": rows kept as plain data, loaded as fresh entity instances each time. */
class OrderRows {
  status = 'new';
  quantities = new Map<number, number>(
    Array.from({ length: 300 }, (_, i) => [i + 1, 1] as [number, number]),
  );

  load(id: string): Order {
    const order = Object.assign(new Order(), { id: Number(id), status: this.status });
    order.items = [...this.quantities].map(([itemId, quantity]) =>
      Object.assign(new OrderItem(), { id: itemId, quantity, order }),
    );
    return order;
  }
}

const rows = new OrderRows();

@Controller('orders')
class OrdersController {
  @Patch(':id')
  @Audited('order', { load: (id) => rows.load(id) })
  update(
    @Param('id') id: string,
    @Body() body: { status: string; item: number; quantity: number },
  ): { id: string } {
    rows.status = body.status;
    rows.quantities.set(body.item, body.quantity);
    return { id };
  }
}

describe.each(PLATFORMS)('entity states from a loader (%s)', (platform) => {
  it('records the exact field diff of class instances with a toJSON back-reference', async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, 'audit.db');
    rows.status = 'new';
    rows.quantities.set(123, 1);
    try {
      const running = await startApp(platform, {
        imports: [AuditModule.forRoot({ store: new SqliteAuditStore({ path }), stream: false })],
        controllers: [OrdersController],
      });
      try {
        await request(running.url)
          .patch('/orders/1')
          .send({ status: 'paid', item: 123, quantity: 3 })
          .expect(200);
      } finally {
        await running.close();
      }
      const reader = new SqliteAuditStore({ path });
      await reader.init();
      const { items } = await reader.query({ limit: 10 });
      await reader.close();
      expect(items).toHaveLength(1);
      const changes = items[0]?.changes;
      expect(changes?.diff).toEqual([
        { path: ['items', '[id=123]', 'quantity'], op: 'changed', before: 1, after: 3 },
        { path: ['status'], op: 'changed', before: 'new', after: 'paid' },
      ]);
      expect(changes?.fields).toEqual(['items.[id=123].quantity', 'status']);
      expect(changes?.unserializable).toBeUndefined();
      expect(JSON.stringify(changes)).not.toContain('Unserializable');
      expect((changes?.after as { items: unknown[] }).items[0]).toEqual({
        id: 1,
        quantity: 1,
        order: { id: 1 },
      });
    } finally {
      tmp.cleanup();
    }
  });
});
