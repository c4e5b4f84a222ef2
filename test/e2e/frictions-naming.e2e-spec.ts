import { Body, Controller, Param, Patch, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { Audited, AuditModule, AuditService, InMemoryAuditStore } from '../../src';
import { PLATFORMS, startApp, type RunningApp } from '../utils/apps';
import { asUser, HeaderAuthGuard } from '../utils/users-app';

/** One controller mixing undecorated routes and `@Audited('order')`, as real apps do. */
@Controller('orders')
class OrdersController {
  @Patch(':id')
  update(@Param('id') id: string, @Body() body: { status?: string }) {
    return { id, ...body };
  }

  @Post(':id/cancel')
  @Audited('order', { action: 'cancel' })
  cancel(@Param('id') id: string) {
    return { id, status: 'cancelled' };
  }
}

@Controller('order-items')
class OrderItemsController {
  @Patch(':id')
  update(@Param('id') id: string) {
    return { id };
  }
}

@Controller('categories')
class CategoriesController {
  @Post()
  create() {
    return { id: 'c-1' };
  }
}

@Controller()
class AddressesController {
  @Post('addresses')
  create() {
    return { id: 'a-1' };
  }
}

describe.each(PLATFORMS)('one naming rule for resource types on %s', (platform) => {
  let app: RunningApp;
  let store: InMemoryAuditStore;

  beforeAll(async () => {
    store = new InMemoryAuditStore();
    app = await startApp(platform, {
      imports: [AuditModule.forRoot({ store, stream: false })],
      controllers: [
        OrdersController,
        OrderItemsController,
        CategoriesController,
        AddressesController,
      ],
      providers: [{ provide: APP_GUARD, useClass: HeaderAuthGuard }],
    });
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => store.clear());

  it('names an undecorated route like the decorated ones: history finds both', async () => {
    await request(app.url).patch('/orders/7').send({ status: 'paid' }).expect(200);
    await request(app.url).post('/orders/7/cancel').expect(201);
    expect(store.all().map((e) => [e.action, e.target])).toEqual([
      ['order.update', { type: 'order', id: '7' }],
      ['order.cancel', { type: 'order', id: '7' }],
    ]);
    const history = await app.app.get(AuditService).history('order', '7');
    expect(history.map((e) => e.action).sort()).toEqual(['order.cancel', 'order.update']);
  });

  it('makes kebab-case and irregular plurals singular snake case', async () => {
    await request(app.url).patch('/order-items/3').expect(200);
    await request(app.url).post('/categories').expect(201);
    expect(store.all().map((e) => e.action)).toEqual(['order_item.update', 'category.create']);
  });

  it('falls back to the controller class name by the same rule', async () => {
    await request(app.url).post('/addresses').expect(201);
    expect(store.all().map((e) => e.action)).toEqual(['address.create']);
  });

  it('records roles given as objects, a single role object, or a mix', async () => {
    await request(app.url)
      .patch('/orders/1')
      .set(asUser({ id: 5, name: 'Ada', role: { id: 1, name: 'Admin' } }))
      .send({})
      .expect(200);
    await request(app.url)
      .patch('/orders/2')
      .set(asUser({ sub: 'u-9', roles: ['support', { name: 'Billing' }, { id: 3 }] }))
      .send({})
      .expect(200);
    const [first, second] = store.all();
    expect(first?.actor).toMatchObject({ id: '5', name: 'Ada', roles: ['Admin'], type: 'user' });
    expect(second?.actor).toMatchObject({ id: 'u-9', roles: ['support', 'Billing', '3'] });
  });
});
