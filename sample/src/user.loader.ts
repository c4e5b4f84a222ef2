import { Injectable } from '@nestjs/common';
import type { AuditLoader } from '../../src';
import { UsersRepository, type User } from './users.repository';

/** Gives the audit interceptor a user's state before and after a change. */
@Injectable()
export class UserLoader implements AuditLoader {
  constructor(private readonly users: UsersRepository) {}

  load(id: string): User | undefined {
    return this.users.find(id);
  }
}
