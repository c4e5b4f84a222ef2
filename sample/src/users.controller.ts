import { Body, Controller, Delete, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { Audited, AuditService } from '../../src';
import { AdminOnlyGuard } from './demo-auth.guard';
import { UserLoader } from './user.loader';
import { UsersRepository, type User } from './users.repository';

@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersRepository,
    private readonly audit: AuditService,
  ) {}

  /** Audited as `user.create`; the password in the body is redacted by the built-in denylist. */
  @Post()
  @Audited('user', { load: UserLoader, captureBody: true })
  create(@Body() body: Omit<User, 'id'>): User {
    return this.users.create(body);
  }

  /** A plain read: not audited under the default 'mutations' scope. */
  @Get(':id')
  read(@Param('id') id: string): Pick<User, 'id' | 'name'> {
    const user = this.users.find(id);
    return { id, name: user?.name ?? '' };
  }

  /** Reading the MFA phone is sensitive, so this read is audited explicitly. */
  @Get(':id/mfa')
  @Audited('user', { action: 'read', message: 'MFA information viewed' })
  readMfa(@Param('id') id: string): Pick<User, 'id' | 'mfaPhone'> {
    this.audit.current()?.setResults({ fields: ['mfaPhone'] });
    return { id, mfaPhone: this.users.find(id)?.mfaPhone };
  }

  /** The change the business team cares about: before/after and the diff come from the loader. */
  @Patch(':id/mfa')
  @Audited('user', { load: UserLoader, message: 'Edit made to MFA information' })
  updateMfa(@Param('id') id: string, @Body() body: { mfaPhone: string }): User {
    return this.users.update(id, { mfaPhone: body.mfaPhone });
  }

  /** Only admins may delete; a refused delete is recorded with the 403 it got. */
  @Delete(':id')
  @UseGuards(AdminOnlyGuard)
  @Audited('user', { load: UserLoader })
  remove(@Param('id') id: string): { deleted: true } {
    this.users.remove(id);
    return { deleted: true };
  }
}
