import { Inject, Injectable, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { AuditChangeRecorder } from '../audit-change-recorder';
import type { OrmAuditOptions } from '../orm-audit.options';
import { closeAfterCaptures } from '../close-after-captures';
import { TypeOrmAuditSubscriber } from './typeorm-audit.subscriber';
import { atomicDialectOf, sqliteConnectionOf } from './typeorm-row-state';

/** Options of {@link AuditTypeOrmModule.forRoot}. */
export interface AuditTypeOrmOptions extends OrmAuditOptions {
  /**
   * The DI token of the `DataSource` to audit: for a named connection of `@nestjs/typeorm`,
   * `getDataSourceToken('name')`.
   * @default DataSource (the default connection of `@nestjs/typeorm`)
   */
  dataSource?: string | symbol | (abstract new (...args: never[]) => unknown);
}

const OPTIONS = Symbol('nestjs-audit:typeorm-options');

/** Registers the subscriber on the data source once both modules are initialised. */
@Injectable()
class TypeOrmAuditInstaller implements OnModuleInit {
  constructor(
    @Inject(OPTIONS) private readonly options: AuditTypeOrmOptions,
    private readonly recorder: AuditChangeRecorder,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    const token = this.options.dataSource ?? DataSource;
    let dataSource: DataSource;
    try {
      dataSource = this.moduleRef.get<DataSource>(token, { strict: false });
    } catch {
      throw new AuditConfigurationError(
        `nestjs-audit/typeorm: no TypeORM DataSource is provided under ${String(typeof token === 'function' ? token.name : token)}. Import TypeOrmModule.forRoot(...) in the app, or pass dataSource: getDataSourceToken('<name>') for a named connection.`,
      );
    }
    if (this.options.atomic) this.checkAtomic(dataSource);
    closeAfterCaptures(dataSource, 'destroy', this.recorder);
    if (dataSource.subscribers.some((s) => s instanceof TypeOrmAuditSubscriber)) return;
    dataSource.subscribers.push(new TypeOrmAuditSubscriber(this.recorder, this.options));
  }

  private checkAtomic(dataSource: DataSource): void {
    const type: string = dataSource.options.type;
    const dialect = atomicDialectOf(dataSource);
    if (dialect === undefined) {
      throw new AuditConfigurationError(
        `nestjs-audit/typeorm: atomic: true works on PostgreSQL and on SQLite through better-sqlite3 (this DataSource is "${type}"). Set atomic: false (events of committed transactions then go through the durable pipeline right after the commit).`,
      );
    }
    if (dialect === 'postgres' && this.recorder.atomicDialect !== 'postgres') {
      throw new AuditConfigurationError(
        `nestjs-audit/typeorm: atomic: true needs the audit store in the same database as the "${type}" DataSource (PostgresAuditStore on its PostgreSQL database), but the audit store is not a PostgreSQL store. Point the audit store at that database, or set atomic: false.`,
      );
    }
    const connection = sqliteConnectionOf(dataSource);
    if (
      dialect === 'sqlite' &&
      (connection === undefined || this.recorder.atomicConnection !== connection)
    ) {
      throw new AuditConfigurationError(
        `nestjs-audit/typeorm: atomic: true on SQLite needs the audit store on the "${type}" DataSource's own connection (a second connection to the file would wait for the app's lock and make its transactions fail): configure AuditModule with store: sqliteAuditStoreFor(dataSource) (forRootAsync, inject: [DataSource]), or set atomic: false.`,
      );
    }
    this.recorder.startAtomic(this.options, 'nestjs-audit/typeorm');
  }
}

/**
 * Records the exact changes of every audited TypeORM entity, inside the write's transaction.
 * Import it beside `AuditModule` and `TypeOrmModule`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, autoLoadEntities: true }),
 *     AuditModule.forRoot(),
 *     AuditTypeOrmModule.forRoot({ exclude: ['Session'] }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class AuditTypeOrmModule {
  /** Audits the entities of one data source (the default one unless `dataSource` names another). */
  static forRoot(options: AuditTypeOrmOptions = {}): DynamicModule {
    return {
      module: AuditTypeOrmModule,
      providers: [{ provide: OPTIONS, useValue: options }, TypeOrmAuditInstaller],
    };
  }
}
