import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule, type AuditModuleOptions } from '../../src';
import { AuthController } from './auth.controller';
import { AdminOnlyGuard, DemoAuthGuard } from './demo-auth.guard';
import { HealthController } from './health.controller';
import { OrdersController } from './orders.controller';
import { ReportsService } from './reports.service';
import { UserLoader } from './user.loader';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';

/** The sample app; `audit` lets tests point the store and stream elsewhere. */
@Module({})
export class AppModule {
  static register(audit: AuditModuleOptions = {}) {
    return {
      module: AppModule,
      imports: [AuditModule.forRoot({ serviceName: 'sample-shop', ...audit })],
      controllers: [AuthController, UsersController, OrdersController, HealthController],
      providers: [
        UsersRepository,
        UserLoader,
        ReportsService,
        AdminOnlyGuard,
        { provide: APP_GUARD, useClass: DemoAuthGuard },
      ],
    };
  }
}
