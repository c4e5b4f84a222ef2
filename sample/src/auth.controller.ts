import { Body, Controller, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { Audited, AuditService } from '../../src';
import { STAFF } from './demo-auth.guard';

interface LoginBody {
  username?: string;
  password?: string;
}

/** The sample's login: demo passwords, so the scenario can show a failed and a good login. */
const PASSWORDS: Record<string, string> = { alice: 'correct horse', sam: 'battery staple' };

@Controller('auth')
export class AuthController {
  constructor(private readonly audit: AuditService) {}

  /**
   * Audited as `session.login` (ECS `authentication` / `start`): a success records the user who
   * logged in, a failure the user name that was tried (marked unauthenticated). The password is
   * never recorded: bodies are not captured, and `password` is redacted anyway.
   */
  @Post('login')
  @HttpCode(200)
  @Audited('session', {
    action: 'login',
    principal: (req) => (req.body as LoginBody | undefined)?.username,
  })
  login(@Body() body: LoginBody): { token: string } {
    const name = body.username ?? '';
    const staff = STAFF[name];
    if (!staff || PASSWORDS[name] !== body.password) {
      throw new UnauthorizedException('wrong user name or password');
    }
    this.audit.current()?.setActor(staff);
    return { token: name };
  }
}
