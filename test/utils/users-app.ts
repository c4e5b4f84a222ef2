import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  NotFoundException,
  Param,
  Patch,
  Post,
  Put,
  Query,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Audited, AuditExempt, AuditService, type AuditLoader } from '../../src';

/** A user as the fixture app stores it. */
export interface FixtureUser {
  id: string;
  name: string;
  email: string;
  phone?: string;
  mfa?: { enabled: boolean; phone?: string };
  password?: string;
  [key: string]: unknown;
}

/** In-memory repository of the fixture app. */
@Injectable()
export class UsersRepository {
  private readonly users = new Map<string, FixtureUser>();
  private next = 1;

  create(data: Partial<FixtureUser>): FixtureUser {
    const user: FixtureUser = { name: '', email: '', ...data, id: String(this.next++) };
    this.users.set(user.id, user);
    return structuredClone(user);
  }
  find(id: string): FixtureUser | undefined {
    const user = this.users.get(id);
    return user ? structuredClone(user) : undefined;
  }
  update(id: string, patch: Partial<FixtureUser>): FixtureUser {
    const user = this.users.get(id);
    if (!user) throw new NotFoundException(`user ${id} not found`);
    Object.assign(user, patch);
    return structuredClone(user);
  }
  remove(id: string): void {
    if (!this.users.delete(id)) throw new NotFoundException(`user ${id} not found`);
  }
}

/** Loader class resolved from DI by the interceptor. */
@Injectable()
export class UserLoader implements AuditLoader {
  constructor(private readonly users: UsersRepository) {}
  load(id: string): FixtureUser | undefined {
    return this.users.find(id);
  }
}

/**
 * Sets `req.user` from the `x-test-user` header (JSON), the way passport would; runs before the
 * interceptor, like a real auth guard.
 */
@Injectable()
export class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: unknown }>();
    const raw = req.headers['x-test-user'];
    if (raw) req.user = JSON.parse(raw) as unknown;
    return true;
  }
}

@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersRepository,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @Audited('user', { load: UserLoader, captureBody: true })
  create(@Body() body: Partial<FixtureUser>): FixtureUser {
    return this.users.create(body);
  }

  @Get(':id')
  read(@Param('id') id: string): FixtureUser {
    const user = this.users.find(id);
    if (!user) throw new NotFoundException();
    return user;
  }

  @Get(':id/profile')
  @Audited('user', { message: 'Sensitive profile viewed' })
  profile(@Param('id') id: string, @Query('fields') fields?: string): FixtureUser {
    const user = this.users.find(id);
    if (!user) throw new NotFoundException();
    this.audit.current()?.setFilter({ fields: fields ?? 'all' }).setResults({ ids: [user.id] });
    return user;
  }

  @Patch(':id/mfa')
  @Audited('user', { load: UserLoader, message: 'Edit made to MFA information', level: 'warn' })
  updateMfa(@Param('id') id: string, @Body() body: { phone: string }): FixtureUser {
    return this.users.update(id, { mfa: { enabled: true, phone: body.phone } });
  }

  @Put(':id')
  @Audited('user', {
    load: (id: string) => fixtureRepository?.find(id),
    captureResult: true,
    redact: ['phone'],
  })
  replace(@Param('id') id: string, @Body() body: Partial<FixtureUser>): FixtureUser {
    return this.users.update(id, body);
  }

  @Delete(':id')
  @Audited('user', { load: UserLoader })
  remove(@Param('id') id: string): { deleted: boolean } {
    this.users.remove(id);
    return { deleted: true };
  }

  @Post(':id/labels')
  @Audited('user', { id: (req) => (req.params as { id: string }).id, action: 'tag' })
  label(@Param('id') id: string): { id: string } {
    this.audit.current()?.addLabels({ campaign: 'spring', attempt: 2 });
    return { id };
  }

  @Post('boom')
  boom(): never {
    throw new Error('kaboom');
  }

  @Post('accepted')
  @HttpCode(202)
  accepted(): { queued: true } {
    return { queued: true };
  }

  @Post('skip')
  skip(): { skipped: true } {
    this.audit.current()?.skip();
    return { skipped: true };
  }

  @Post('exempt')
  @AuditExempt()
  exempt(): { ok: true } {
    return { ok: true };
  }
}

/** Class-level @Audited with a method-level exemption and a method-level override. */
@Controller('orders')
@Audited('order')
export class OrdersController {
  @Post()
  create(@Body() body: { item: string }): { id: string; item: string } {
    return { id: 'o-1', item: body.item };
  }

  @Get(':id')
  read(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post(':id/notes')
  @AuditExempt()
  note(): { ok: true } {
    return { ok: true };
  }

  @Post(':id/invoice')
  @Audited('invoice', { action: 'invoice.issue', id: (_req, result) => (result as { invoiceId: string }).invoiceId })
  invoice(): { invoiceId: string } {
    return { invoiceId: 'inv-9' };
  }
}

/** Class-level @AuditExempt with a method-level @Audited (method beats class). */
@Controller('admin')
@AuditExempt()
export class AdminController {
  @Post('cache/flush')
  flush(): { ok: true } {
    return { ok: true };
  }

  @Put('settings/:id')
  @Audited('setting')
  setting(@Param('id') id: string): { id: string } {
    return { id };
  }
}

@Controller()
export class HealthController {
  @Get('health')
  health(): { ok: true } {
    return { ok: true };
  }

  @Post('health/ping')
  ping(): { ok: true } {
    return { ok: true };
  }

  @Get('search')
  search(@Query('q') q?: string): { q?: string } {
    return { q };
  }
}

let fixtureRepository: UsersRepository | undefined;

/** Keeps a handle on the repository for the function loader of `PUT /users/:id`. */
@Injectable()
export class RepositoryHandle {
  constructor(users: UsersRepository) {
    fixtureRepository = users;
  }
}

/** Controllers and providers of the fixture app; add `AuditModule.forRoot(...)` to imports. */
export const fixtureApp = {
  controllers: [UsersController, OrdersController, AdminController, HealthController],
  providers: [
    UsersRepository,
    UserLoader,
    RepositoryHandle,
    { provide: APP_GUARD, useClass: HeaderAuthGuard },
  ],
};

/** Header value that makes the fixture guard set `req.user`. */
export function asUser(user: Record<string, unknown>): Record<string, string> {
  return { 'x-test-user': JSON.stringify(user) };
}
