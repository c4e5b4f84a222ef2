import { Body, Controller, Delete, Param, ParseIntPipe, Patch, Post } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { instanceToPlain } from 'class-transformer';
import {
  Column,
  DataSource,
  DeleteDateColumn,
  Entity,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  Repository,
} from 'typeorm';
import { Audited } from '../../../../src';

/** Like the apps this was tried in: every entity serialises itself through class-transformer. */
abstract class Serialisable {
  toJSON(): Record<string, unknown> {
    return instanceToPlain(this);
  }
}

@Entity({ name: 'customer' })
export class Customer extends Serialisable {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) name!: string;
}

@Entity({ name: 'purchase_order' })
export class Order extends Serialisable {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) note!: string;
  @Column({ type: 'varchar', default: 'open' }) status!: string;
  @ManyToOne(() => Customer, { nullable: true, eager: true }) customer?: Customer | null;
  @OneToMany(() => OrderItem, (item) => item.order, { cascade: true }) items?: OrderItem[];
  @DeleteDateColumn({ nullable: true }) deletedAt?: Date | null;
}

@Entity({ name: 'order_item' })
export class OrderItem extends Serialisable {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) sku!: string;
  @Column({ type: 'int' }) quantity!: number;
  @ManyToOne(() => Order, (order) => order.items, { onDelete: 'CASCADE' }) order?: Order;
}

export const ENTITIES = [Customer, Order, OrderItem];

/** Holds `/slow` handlers after their commit until the test opens it. */
export const slowGate = {
  committed: 0,
  open: (): void => undefined,
  opened: Promise.resolve(),
  reset(): void {
    this.committed = 0;
    this.opened = new Promise<void>((resolve) => (this.open = resolve));
  },
};

interface ItemInput {
  sku: string;
  quantity: number;
}

/** Orders, written the way a NestJS app does it: load through the repository, change, save. */
@Controller('orders')
export class OrdersController {
  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    @InjectRepository(OrderItem) private readonly items: Repository<OrderItem>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post()
  @Audited('order')
  async create(
    @Body() body: { note: string; items?: ItemInput[] },
  ): Promise<{ id: number; items: { id: number }[] }> {
    const order = this.orders.create({ note: body.note, items: body.items ?? [] });
    const saved = await this.orders.save(order);
    return { id: saved.id, items: (saved.items ?? []).map((item) => ({ id: item.id })) };
  }

  @Patch(':id')
  @Audited('order')
  async update(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { note?: string; status?: string },
  ): Promise<{ id: number }> {
    const order = await this.orders.findOneByOrFail({ id });
    if (body.note !== undefined) order.note = body.note;
    if (body.status !== undefined) order.status = body.status;
    await this.orders.save(order);
    return { id };
  }

  @Patch(':id/items/:itemId')
  @Audited('order')
  async updateItem(
    @Param('id', ParseIntPipe) id: number,
    @Param('itemId', ParseIntPipe) itemId: number,
    @Body() body: { quantity: number },
  ): Promise<{ id: number }> {
    const item = await this.items.findOneByOrFail({ id: itemId, order: { id } });
    item.quantity = body.quantity;
    await this.items.save(item);
    return { id };
  }

  /** Commits the change, then keeps working until the gate opens (a slow handler). */
  @Patch(':id/slow')
  @Audited('order')
  async slow(@Param('id', ParseIntPipe) id: number, @Body() body: { note: string }): Promise<void> {
    const order = await this.orders.findOneByOrFail({ id });
    order.note = body.note;
    await this.orders.save(order);
    slowGate.committed += 1;
    await slowGate.opened;
  }

  /** Changes the note, then fails: the transaction rolls back. */
  @Patch(':id/failing')
  @Audited('order')
  async failing(
    @Param('id', ParseIntPipe) id: number,
    @Body() body: { note: string },
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const order = await manager.findOneByOrFail(Order, { id });
      order.note = body.note;
      await manager.save(order);
      throw new Error('payment provider refused');
    });
  }

  @Delete(':id')
  @Audited('order')
  async remove(@Param('id', ParseIntPipe) id: number): Promise<void> {
    const order = await this.orders.findOneByOrFail({ id });
    await this.orders.remove(order);
  }

  @Delete(':id/soft')
  @Audited('order')
  async softRemove(@Param('id', ParseIntPipe) id: number): Promise<void> {
    const order = await this.orders.findOneByOrFail({ id });
    await this.orders.softRemove(order);
  }

  @Post(':id/restore')
  @Audited('order')
  async restore(@Param('id', ParseIntPipe) id: number): Promise<void> {
    const order = await this.orders.findOneOrFail({ where: { id }, withDeleted: true });
    await this.orders.recover(order);
  }
}
