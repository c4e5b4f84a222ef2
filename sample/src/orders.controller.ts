import {
  BadRequestException,
  Body,
  Controller,
  NotFoundException,
  Param,
  ParseIntPipe,
  Patch,
  Post,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { Audited, AuditService } from '../../src';
import { Order } from './order.entity';

/**
 * Every route of this controller is audited as an `order` event. No loader: the TypeORM
 * integration records what each save changed, read inside its transaction.
 */
@Controller('orders')
@Audited('order')
export class OrdersController {
  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    private readonly audit: AuditService,
  ) {}

  @Post()
  async create(@Body() body: { item: string; quantity: number }): Promise<Order> {
    if (!body.item || !(body.quantity > 0)) {
      throw new BadRequestException('item and a positive quantity are required');
    }
    return this.orders.save(this.orders.create({ item: body.item, quantity: body.quantity }));
  }

  @Patch(':id/status')
  async setStatus(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { status: Order['status'] },
  ): Promise<Order> {
    const order = await this.orders.findOneBy({ id });
    if (!order) throw new NotFoundException(`No order ${id}`);
    this.audit.current()?.addLabels({ from: order.status, to: body.status });
    order.status = body.status;
    return this.orders.save(order);
  }
}
