import { BadRequestException, Body, Controller, Param, Patch, Post } from '@nestjs/common';
import { Audited, AuditService } from '../../src';

interface Order {
  id: string;
  item: string;
  quantity: number;
  status: 'open' | 'paid' | 'void';
}

const orders = new Map<string, Order>();

/** Every route of this controller is audited as an `order` event. */
@Controller('orders')
@Audited('order', { load: (id: string) => orders.get(id) })
export class OrdersController {
  constructor(private readonly audit: AuditService) {}

  @Post()
  create(@Body() body: { item: string; quantity: number }): Order {
    if (!body.item || !(body.quantity > 0)) throw new BadRequestException('item and a positive quantity are required');
    const order: Order = { id: `o-${orders.size + 1}`, item: body.item, quantity: body.quantity, status: 'open' };
    orders.set(order.id, order);
    return { ...order };
  }

  @Patch(':id/status')
  setStatus(@Param('id') id: string, @Body() body: { status: Order['status'] }): Order {
    const order = orders.get(id);
    if (!order) throw new BadRequestException(`No order ${id}`);
    this.audit.current()?.addLabels({ from: order.status, to: body.status });
    orders.set(id, { ...order, status: body.status });
    return { ...order, status: body.status };
  }
}
