import { Injectable, NotFoundException } from '@nestjs/common';

/** A user of the sample app; `mfaPhone` is the phone number used for two-factor codes. */
export interface User {
  id: string;
  name: string;
  email: string;
  mfaPhone?: string;
  password?: string;
}

/** In-memory users, enough for the demo. */
@Injectable()
export class UsersRepository {
  private readonly users = new Map<string, User>();
  private nextId = 1;

  create(data: Omit<User, 'id'>): User {
    const user: User = { ...data, id: String(this.nextId++) };
    this.users.set(user.id, user);
    return { ...user };
  }

  find(id: string): User | undefined {
    const user = this.users.get(id);
    return user ? { ...user } : undefined;
  }

  update(id: string, patch: Partial<Omit<User, 'id'>>): User {
    const user = this.users.get(id);
    if (!user) throw new NotFoundException(`No user ${id}`);
    Object.assign(user, patch);
    return { ...user };
  }

  remove(id: string): void {
    if (!this.users.delete(id)) throw new NotFoundException(`No user ${id}`);
  }
}
