import { BadRequestException, Body, Controller, Inject, Post } from '@nestjs/common';
import { Audited } from '../../../src';

/** The one write these servers make, whatever the ORM behind it. */
export interface ShopOrders {
  /** Creates an order in its own transaction (the ORM's or the audit integration's). */
  create(item: string, quantity: number): Promise<{ id: number }>;
}

/** DI token of the {@link ShopOrders} each ORM module provides. */
export const SHOP_ORDERS = Symbol('SHOP_ORDERS');

/**
 * `POST /orders` under `@Audited('order')`, with no loader: the ORM integration's change of the
 * new row joins the request's event (or, in atomic mode, is committed with the row).
 */
@Controller('orders')
@Audited('order')
export class OrdersController {
  constructor(@Inject(SHOP_ORDERS) private readonly orders: ShopOrders) {}

  @Post()
  async create(@Body() body: { item?: string; quantity?: number }): Promise<{ id: number }> {
    if (!body.item || !(Number(body.quantity) > 0)) {
      throw new BadRequestException('item and a positive quantity are required');
    }
    return this.orders.create(body.item, Number(body.quantity));
  }
}
