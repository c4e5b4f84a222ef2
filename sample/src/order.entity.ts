import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** An order of the sample shop, stored with TypeORM. */
@Entity({ name: 'shop_order' })
export class Order {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) item!: string;
  @Column({ type: 'int' }) quantity!: number;
  @Column({ type: 'varchar', default: 'open' }) status!: 'open' | 'paid' | 'void';
}
